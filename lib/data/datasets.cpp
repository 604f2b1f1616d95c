#include "lib/data/datasets.h"

#include <algorithm>
#include <numeric>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/data/cifar.h"
#include "lib/data/idx.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kValSplitKey = 0x76616c2d73706c74ULL;  // fixed: same split for all seeds

std::vector<std::string> numbered(const std::string& stem, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(stem + std::to_string(i));
  return out;
}

// CIFAR archives unpack into a folder of their own; accept either it or its parent.
fs::path cifar_dir(const fs::path& dir, const char* inner) {
  return fs::is_directory(dir / inner) ? dir / inner : dir;
}

std::pair<ImageSet, ImageSet> read_files(const DatasetInfo& info, const fs::path& dir) {
  if (info.name == "mnist" || info.name == "fashion-mnist") {
    return {read_idx_split(dir, "train", info.classes), read_idx_split(dir, "t10k", info.classes)};
  }
  if (info.name == "cifar10") {
    const fs::path d = cifar_dir(dir, "cifar-10-batches-bin");
    std::vector<fs::path> train;
    for (int i = 1; i <= 5; ++i) train.push_back(d / ("data_batch_" + std::to_string(i) + ".bin"));
    return {read_cifar_files(train, 1, 10), read_cifar_files({d / "test_batch.bin"}, 1, 10)};
  }
  const fs::path d = cifar_dir(dir, "cifar-100-binary");
  return {read_cifar_files({d / "train.bin"}, 2, 100), read_cifar_files({d / "test.bin"}, 2, 100)};
}

}  // namespace

std::vector<std::string> dataset_names() {
  return {"fashion-mnist", "mnist", "cifar10", "cifar100"};
}

DatasetInfo dataset_info(const std::string& name) {
  DatasetInfo info;
  info.name = name;
  if (name == "fashion-mnist") {
    info.channels = 1, info.height = 28, info.width = 28, info.classes = 10;
    info.mean = {0.2860f}, info.std = {0.3530f};
    info.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  } else if (name == "mnist") {
    info.channels = 1, info.height = 28, info.width = 28, info.classes = 10;
    info.mean = {0.1307f}, info.std = {0.3081f};
    info.class_names = numbered("digit ", 10);
  } else if (name == "cifar10") {
    info.channels = 3, info.height = 32, info.width = 32, info.classes = 10;
    info.mean = {0.4914f, 0.4822f, 0.4465f}, info.std = {0.2470f, 0.2435f, 0.2616f};
    info.class_names = {"airplane", "automobile", "bird",  "cat",  "deer",
                        "dog",      "frog",       "horse", "ship", "truck"};
  } else if (name == "cifar100") {
    info.channels = 3, info.height = 32, info.width = 32, info.classes = 100;
    info.mean = {0.5071f, 0.4865f, 0.4409f}, info.std = {0.2673f, 0.2564f, 0.2762f};
    info.class_names = numbered("class ", 100);
  } else {
    throw ConfigError("--dataset: unknown dataset '" + name +
                      "', expected fashion-mnist, mnist, cifar10 or cifar100");
  }
  return info;
}

fs::path default_data_dir(const std::string& name) {
  // Debian's dataset packages install here (dataset-fashion-mnist); other datasets are looked
  // for beside them, so a machine-wide copy needs no --data-dir either.
  return fs::path("/usr/share/datasets") / name;
}

std::pair<ImageSet, ImageSet> hold_out(const ImageSet& full, int64_t val_size) {
  const int64_t n = full.size();
  check<ConfigError>(val_size >= 0 && val_size < n, "--val-size: expected a count in [0, ", n,
                     "), the size of the training file, got ", val_size);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::uint64_t> keys(order.size());
  for (int64_t i = 0; i < n; ++i)
    keys[static_cast<std::size_t>(i)] = counter_random(kValSplitKey, 0, i);
  // The val examples are those with the smallest keys; both parts keep the file's order.
  std::vector<int64_t> by_key = order;
  std::nth_element(by_key.begin(), by_key.begin() + val_size, by_key.end(),
                   [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  std::vector<char> is_val(order.size(), 0);
  for (int64_t k = 0; k < val_size; ++k) is_val[static_cast<std::size_t>(by_key[k])] = 1;
  std::vector<int64_t> train_idx, val_idx;
  for (int64_t i = 0; i < n; ++i) (is_val[i] ? val_idx : train_idx).push_back(i);
  auto as_tensor = [](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); };
  ImageSet val = val_idx.empty() ? ImageSet{full.images.slice(0, 0, 0), full.labels.slice(0, 0, 0)}
                                 : full.select(as_tensor(val_idx));
  return {full.select(as_tensor(train_idx)), val};
}

Dataset load_dataset(const DataOptions& options) {
  Dataset data;
  data.info = dataset_info(options.name());
  const fs::path dir =
      options.data_dir().empty() ? default_data_dir(options.name()) : options.data_dir();
  check<DataError>(fs::is_directory(dir), "--data-dir: ", dir.string(), " is not a directory (",
                   options.name(), " expected there)");
  auto [train_file, test] = read_files(data.info, dir);
  check<DataError>(train_file.images.size(1) == data.info.channels &&
                       train_file.images.size(2) == data.info.height &&
                       train_file.images.size(3) == data.info.width,
                   "reading ", dir.string(), ": ", options.name(), " images must be ",
                   data.info.channels, "x", data.info.height, "x", data.info.width, ", got ",
                   train_file.images.sizes());
  check<DataError>(test.images.sizes().slice(1) == train_file.images.sizes().slice(1), "reading ",
                   dir.string(), ": test images are ", test.images.sizes(),
                   ", training images are ", train_file.images.sizes());
  std::tie(data.train, data.val) = hold_out(train_file, options.val_size());
  data.test = std::move(test);
  return data;
}

}  // namespace kd
