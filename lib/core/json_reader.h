// Reading kdpipe's own JSON files (metrics, manifests, stage records) field by field: every
// failure is a StorageError that names the file and the field ("runs/x/metrics.json: field
// 'test.accuracy' is missing"), never a raw parser message or undefined behaviour on a missing key.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kd {

/// One value of a JSON file, with the file and its path from the root to name it in errors.
class JsonField {
 public:
  JsonField(const nlohmann::json& value, std::string file, std::string path)
      : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

  /// The member `key` of this object; StorageError when it is missing or this is no object.
  JsonField operator[](const std::string& key) const;
  /// Element i of this array; StorageError when it is out of range or this is no array.
  JsonField operator[](std::size_t i) const;
  /// Whether this object has `key` with a non-null value.
  bool has(const std::string& key) const;
  /// The member, or nothing when it is missing or null.
  std::optional<JsonField> find(const std::string& key) const;
  std::size_t size() const;  ///< of an array; StorageError otherwise
  bool is_null() const { return value_->is_null(); }

  double number() const;
  /// A number in [low, high]; StorageError naming the field and the domain otherwise.
  double number_in(double low, double high) const;
  int64_t integer() const;
  std::string text() const;
  std::vector<double> numbers() const;
  const nlohmann::json& raw() const { return *value_; }

  /// "FILE: field 'PATH' " + what: the start of every error about this field.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const nlohmann::json* value_;
  std::string file_, path_;
};

/// A parsed JSON file; StorageError naming the file when it is missing, unreadable or not JSON.
class JsonDocument {
 public:
  explicit JsonDocument(const std::filesystem::path& file);
  JsonField root() const { return JsonField(doc_, file_, ""); }
  JsonField operator[](const std::string& key) const { return root()[key]; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  nlohmann::json doc_;
};

}  // namespace kd
