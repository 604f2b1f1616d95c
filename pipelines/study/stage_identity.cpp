#include "pipelines/study/stage_identity.h"

#include <algorithm>
#include <cctype>

#include "lib/core/file_identity.h"
#include "lib/core/hash.h"

namespace kd {

namespace fs = std::filesystem;

// "mlp:800-800" → "mlp800-800": spec strings as folder names. A long spec (a deep model) keeps
// its first 40 characters and a hash of the whole, so a folder name stays far below the file
// system's 255 bytes and two long specs never share a folder.
std::string stage_slug(const std::string& spec) {
  // A TorchScript model: the file's stem and a short hash of its content (a changed file gets
  // new folders; its path's slashes never reach a folder name).
  if (spec.rfind("torchscript:", 0) == 0) {
    const fs::path file = spec.substr(std::string("torchscript:").size());
    std::string stem;
    for (char c : file.stem().string()) {
      stem += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    }
    return "ts-" + stem.substr(0, 32) + "-" + stored_file_hash(file).substr(0, 8);
  }
  std::string out;
  for (char c : spec) out += (c == ':' ? "" : std::string(1, c));
  if (out.size() <= 48) return out;
  Hasher h;
  h.update(spec);
  return out.substr(0, 40) + "-" + h.hex().substr(0, 12);
}

// A folder's file names, sizes and modification times (hashing every image on each run would
// cost more than most stages); "(missing)" when it is gone (`status` of a run whose data moved).
std::string folder_identity(const fs::path& folder) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(folder, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return "(missing)";
  std::sort(files.begin(), files.end());
  Hasher h;
  for (const fs::path& f : files) {
    h.update(fs::relative(f, folder).string());
    h.update_value(static_cast<int64_t>(fs::file_size(f, ec)));
    h.update_value(static_cast<int64_t>(fs::last_write_time(f, ec).time_since_epoch().count()));
  }
  return h.hex();
}

// What identifies the data between runs, so that changed files rerun every stage: an array
// file's content (hashed once, then known by its size and times: stored_file_hash); an image
// folder's or a built-in dataset's folder's listing (folder_identity).
std::string data_identity(const DataOptions& data) {
  const DatasetKind kind = dataset_kind(data);
  if (kind == DatasetKind::array_file) {
    // The order its epochs visit the training split in follows from the file, by a rule that
    // may change between versions: a chunked order is named (a whole permutation, as before,
    // leaves the identity as it was).
    const EpochPattern order = training_order(data);
    return stored_file_hash(data.name()) + (order.chunked ? " " + order.text() : "");
  }
  return folder_identity(kind == DatasetKind::builtin ? data.data_dir() : fs::path(data.name()));
}

// The data as every stage names it: a built-in dataset's folder spelled out, so that a study
// that names the default folder and one that leaves it out are the same stages.
DataOptions canonical(DataOptions data) {
  if (dataset_kind(data) == DatasetKind::builtin && data.data_dir().empty())
    data.data_dir(default_data_dir(data.name()));
  return data;
}

}  // namespace kd
