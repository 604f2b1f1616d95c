#include "lib/core/json_reader.h"

#include <cmath>

#include "lib/core/error.h"
#include "lib/core/files.h"

namespace kd {

using json = nlohmann::json;

JsonDocument::JsonDocument(const std::filesystem::path& file) : file_(file.string()) {
  const std::string text = read_text(file);
  try {
    doc_ = json::parse(text);
  } catch (const json::parse_error& e) {
    throw StorageError(file_ + ": not valid JSON at byte " + std::to_string(e.byte) +
                       (text.empty() ? " (the file is empty)" : ""));
  } catch (const json::exception& e) {  // a number past double's range, for one
    const std::string what = e.what();
    throw StorageError(file_ + ": not valid JSON (" + what.substr(what.find(']') + 2) + ")");
  }
}

void JsonField::fail(const std::string& what) const {
  throw StorageError(file_ + ": " + (path_.empty() ? "the document " : "field '" + path_ + "' ") +
                     what);
}

JsonField JsonField::operator[](const std::string& key) const {
  const std::string path = path_.empty() ? key : path_ + "." + key;
  if (!value_->is_object()) fail("is not an object (reading '" + path + "')");
  const auto it = value_->find(key);
  if (it == value_->end()) JsonField(*value_, file_, path).fail("is missing");
  return JsonField(*it, file_, path);
}

JsonField JsonField::operator[](std::size_t i) const {
  const std::string path = path_ + "[" + std::to_string(i) + "]";
  if (!value_->is_array()) fail("is not a list");
  if (i >= value_->size()) JsonField(*value_, file_, path).fail("is missing");
  return JsonField((*value_)[i], file_, path);
}

bool JsonField::has(const std::string& key) const {
  return value_->is_object() && value_->contains(key) && !(*value_)[key].is_null();
}

std::optional<JsonField> JsonField::find(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return (*this)[key];
}

std::size_t JsonField::size() const {
  if (!value_->is_array()) fail("is not a list");
  return value_->size();
}

double JsonField::number() const {
  if (!value_->is_number()) fail("is not a number");
  return value_->get<double>();
}

double JsonField::number_in(double low, double high) const {
  const double v = number();
  if (!(v >= low && v <= high)) {
    std::ostringstream o;
    o << "is " << v << ", outside [" << low << ", " << high << "]";
    fail(o.str());
  }
  return v;
}

int64_t JsonField::integer() const {
  if (!value_->is_number_integer()) fail("is not a whole number");
  return value_->get<int64_t>();
}

std::string JsonField::text() const {
  if (!value_->is_string()) fail("is not a string");
  return value_->get<std::string>();
}

std::vector<double> JsonField::numbers() const {
  std::vector<double> out;
  for (std::size_t i = 0; i < size(); ++i) out.push_back((*this)[i].number());
  return out;
}

}  // namespace kd
