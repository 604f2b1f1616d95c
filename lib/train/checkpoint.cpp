#include "lib/train/checkpoint.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/files.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kFormat = 1;
constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// One row per epoch: its statistics, validation accuracy and MI (NaN where absent).
torch::Tensor records_tensor(const std::vector<EpochRecord>& records) {
  torch::Tensor t = torch::zeros({static_cast<int64_t>(records.size()), 9}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const EpochRecord& r = records[i];
    const double row[9] = {static_cast<double>(r.stats.epoch),
                           static_cast<double>(r.stats.epochs),
                           r.stats.loss,
                           r.stats.accuracy,
                           r.stats.lr,
                           r.stats.seconds,
                           r.stats.images_per_second,
                           r.val_accuracy.value_or(kNone),
                           r.mutual_information.value_or(kNone)};
    for (int64_t j = 0; j < 9; ++j) a[static_cast<int64_t>(i)][j] = row[j];
  }
  return t;
}

std::vector<EpochRecord> records_of(const torch::Tensor& t) {
  std::vector<EpochRecord> out;
  const auto a = t.accessor<double, 2>();
  const auto optional = [](double v) { return std::isnan(v) ? std::nullopt : std::optional(v); };
  for (int64_t i = 0; i < t.size(0); ++i) {
    EpochRecord r;
    r.stats.epoch = static_cast<int64_t>(a[i][0]);
    r.stats.epochs = static_cast<int64_t>(a[i][1]);
    r.stats.loss = a[i][2];
    r.stats.accuracy = a[i][3];
    r.stats.lr = a[i][4];
    r.stats.seconds = a[i][5];
    r.stats.images_per_second = a[i][6];
    r.val_accuracy = optional(a[i][7]);
    r.mutual_information = optional(a[i][8]);
    out.push_back(r);
  }
  return out;
}

void write_tensors(torch::serialize::OutputArchive& archive, const std::string& prefix,
                   const std::vector<torch::Tensor>& tensors) {
  archive.write(prefix + ".count", c10::IValue(static_cast<int64_t>(tensors.size())));
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const bool defined = tensors[i].defined();
    archive.write(prefix + "." + std::to_string(i) + ".defined", c10::IValue(defined));
    if (defined) archive.write(prefix + "." + std::to_string(i), tensors[i].detach().cpu());
  }
}

std::vector<torch::Tensor> read_tensors(torch::serialize::InputArchive& archive,
                                        const std::string& prefix) {
  c10::IValue count;
  archive.read(prefix + ".count", count);
  std::vector<torch::Tensor> out(static_cast<std::size_t>(count.toInt()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    c10::IValue defined;
    archive.read(prefix + "." + std::to_string(i) + ".defined", defined);
    if (defined.toBool()) archive.read(prefix + "." + std::to_string(i), out[i]);
  }
  return out;
}

}  // namespace

fs::path checkpoint_file(const fs::path& dir) { return dir / "resume.pt"; }
fs::path checkpoint_summary(const fs::path& dir) { return dir / "resume.json"; }

void save_checkpoint(const fs::path& dir, const std::string& key, const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(kFormat));
  archive.write("key", c10::IValue(key));
  archive.write("epochs_done", c10::IValue(state.epochs_done));
  archive.write("epochs", c10::IValue(state.epochs));
  write_tensors(archive, "parameters", state.parameters);
  write_tensors(archive, "buffers", state.buffers);
  write_tensors(archive, "momentum", state.momentum);
  archive.write("rng", state.rng);
  archive.write("records", records_tensor(state.records));
  const fs::path file = checkpoint_file(dir);
  const fs::path temporary = dir / ".resume.pt.partial";
  try {
    archive.save_to(temporary.string());
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    throw StorageError("writing the checkpoint " + temporary.string() + ": " +
                       what.substr(0, what.find('\n')));
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  check<StorageError>(!ec, "writing the checkpoint ", file.string(), ": ", ec.message());
  write_text_atomically(
      checkpoint_summary(dir),
      nlohmann::json{{"epochs_done", state.epochs_done}, {"epochs", state.epochs}}.dump() + "\n");
}

std::optional<TrainingState> load_checkpoint(const fs::path& dir, const std::string& key) {
  const fs::path file = checkpoint_file(dir);
  std::error_code ec;
  if (key.empty() || !fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    c10::IValue format, saved_key, done, epochs;
    archive.read("format", format);
    archive.read("key", saved_key);
    if (format.toInt() != kFormat || saved_key.toStringRef() != key) return std::nullopt;
    archive.read("epochs_done", done);
    archive.read("epochs", epochs);
    TrainingState s;
    s.epochs_done = done.toInt();
    s.epochs = epochs.toInt();
    s.parameters = read_tensors(archive, "parameters");
    s.buffers = read_tensors(archive, "buffers");
    s.momentum = read_tensors(archive, "momentum");
    archive.read("rng", s.rng);
    torch::Tensor records;
    archive.read("records", records);
    s.records = records_of(records);
    if (static_cast<int64_t>(s.records.size()) != s.epochs_done) return std::nullopt;
    return s;
  } catch (const c10::Error&) {
    return std::nullopt;
  }
}

void remove_checkpoint(const fs::path& dir) {
  std::error_code ec;
  fs::remove(checkpoint_file(dir), ec);
  fs::remove(checkpoint_summary(dir), ec);
}

int64_t checkpoint_epochs(const fs::path& dir) {
  try {
    std::ifstream in(checkpoint_summary(dir));
    if (!in) return 0;
    const nlohmann::json doc = nlohmann::json::parse(in);
    return doc.at("epochs_done").get<int64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace kd
