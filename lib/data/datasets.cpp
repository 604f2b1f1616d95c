#include "lib/data/datasets.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/core/work_ledger.h"
#include "lib/data/array_file.h"
#include "lib/data/cifar.h"
#include "lib/data/idx.h"
#include "lib/data/image_folder.h"
#include "lib/data/streamed_dataset.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

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

DatasetKind dataset_kind(const DataOptions& options) {
  const std::vector<std::string> names = dataset_names();
  if (std::count(names.begin(), names.end(), options.name()) > 0) return DatasetKind::builtin;
  const fs::path path = options.name();
  check<ConfigError>(fs::exists(path), "--dataset '", options.name(),
                     "': not a built-in dataset (fashion-mnist, mnist, cifar10, cifar100) and no ",
                     "such image folder or h5 file");
  check<ConfigError>(options.data_dir().empty(),
                     "--data-dir: only for built-in datasets; --dataset ", options.name(),
                     " is a path already");
  return fs::is_directory(path) ? DatasetKind::image_folder : DatasetKind::array_file;
}

ImageFormat parse_image_size(const std::string& text) {
  ImageFormat f;
  if (text.empty()) return f;
  const auto x = text.find('x');
  auto whole = [&](const std::string& part) -> int64_t {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check<ConfigError>(used == part.size() && !part.empty() && v > 0 && v <= 8192,
                       "--image-size: expected HxW (e.g. 32x32) or one size, got '", text, "'");
    return v;
  };
  f.height = whole(text.substr(0, x));
  f.width = x == std::string::npos ? f.height : whole(text.substr(x + 1));
  return f;
}

std::string image_size_text(const ImageFormat& format) {
  if (!format.height) return "";
  return std::to_string(format.height) + "x" + std::to_string(format.width);
}

namespace {

void check_format(const ImageFormat& f) {
  check<ConfigError>(f.channels == 0 || f.channels == 1 || f.channels == 3,
                     "--channels: expected 1 or 3, got ", f.channels);
}

// Every image of `set` converted to `format`, in parallel (LibTorch's thread count).
void convert_images(ImageSet& set, const ImageFormat& format) {
  const int64_t n = set.size();
  if (n == 0 || (format.channels == 0 && format.height == 0)) return;
  const ImageFormat t{format.channels ? format.channels : set.images.size(1),
                      format.height ? format.height : set.images.size(2),
                      format.width ? format.width : set.images.size(3)};
  if (t.channels == set.images.size(1) && t.height == set.images.size(2) &&
      t.width == set.images.size(3))
    return;
  torch::Tensor out = torch::empty({n, t.channels, t.height, t.width}, torch::kUInt8);
  tbb::task_arena arena(std::max(1, torch::get_num_threads()));
  arena.execute([&] {
    tbb::parallel_for(int64_t{0}, n,
                      [&](int64_t i) { out[i].copy_(convert_image(set.images[i], t)); });
  });
  set.images = out;
}

DatasetFiles read_user_files(DatasetKind kind, const DataOptions& options) {
  if (kind == DatasetKind::image_folder) {
    Progress progress = Progress::for_stderr();
    return read_image_folder(options.name(), options.format(), progress);
  }
  DatasetFiles files = array_file_reader(options.name()).read(options.name());
  convert_images(files.train, options.format());
  convert_images(files.test, options.format());
  return files;
}

// A feature array takes no image conversion; its normalisation is measured by load_dataset.
DatasetInfo described_features(DatasetInfo info, const DataOptions& options) {
  const ImageFormat& f = options.format();
  check<ConfigError>(f.channels == 0 && f.height == 0, f.channels ? "--channels" : "--image-size",
                     ": ", options.name(), " holds feature arrays, not images");
  info.standardize = options.standardize();
  info.noise = options.feature_noise();
  info.mean.clear(), info.std.clear();
  return info;
}

void check_labels(const ImageSet& set, int64_t classes, const std::string& where) {
  if (set.size() == 0) return;
  const int64_t lo = set.labels.min().item<int64_t>(), hi = set.labels.max().item<int64_t>();
  check<DataError>(lo >= 0 && hi < classes, where, ": labels must lie in [0, ", classes,
                   "), found ", lo < 0 ? lo : hi);
}

}  // namespace

DatasetInfo describe_dataset(const DataOptions& options) {
  check_format(options.format());
  check<ConfigError>(options.feature_noise() >= 0 && options.feature_noise() <= 100,
                     "--feature-noise: expected a standard deviation in [0, 100], got ",
                     options.feature_noise());
  const DatasetKind kind = dataset_kind(options);
  DatasetInfo info;
  if (kind == DatasetKind::builtin) {
    info = dataset_info(options.name());
  } else if (kind == DatasetKind::image_folder) {
    info = probe_image_folder(options.name(), options.format());
  } else {
    info = array_file_reader(options.name()).probe(options.name());
  }
  if (info.is_features()) return described_features(std::move(info), options);
  check<ConfigError>(
      !options.standardize() && options.feature_noise() == DataOptions().feature_noise(),
      options.standardize() ? "--standardize" : "--feature-noise", ": ", options.name(),
      " holds images (normalised per channel); the option is for "
      "feature arrays");
  if (kind == DatasetKind::image_folder) return info;
  const ImageFormat& f = options.format();
  const bool converted = (f.channels && f.channels != info.channels) ||
                         (f.height && (f.height != info.height || f.width != info.width));
  if (f.channels) info.channels = f.channels;
  if (f.height) info.height = f.height, info.width = f.width;
  if (converted || kind != DatasetKind::builtin) info.mean.clear(), info.std.clear();
  return info;
}

void apply_input_mode(DatasetInfo& info, const std::string& input) {
  check<ConfigError>(input == "normalized" || input == "unit",
                     "--input: expected normalized or unit, got '", input, "'");
  if (input == "normalized") return;
  check<ConfigError>(!info.is_features(), "--input unit: ", info.name,
                     " holds feature arrays, not pixels to scale");
  info.mean.assign(info.mean.size(), 0.0f);
  info.std.assign(info.std.size(), 1.0f);
}

Dataset load_dataset(const DataOptions& options) {
  const PhaseScope phase(Phase::load);
  Dataset data;
  data.info = describe_dataset(options);
  if (streams(options, data.info)) {
    if (std::optional<Dataset> streamed = load_streamed_dataset(options, data.info))
      return std::move(*streamed);
  }
  const DatasetKind kind = dataset_kind(options);
  const fs::path source =
      kind == DatasetKind::builtin
          ? (options.data_dir().empty() ? default_data_dir(options.name()) : options.data_dir())
          : fs::path(options.name());
  DatasetFiles files;
  if (kind == DatasetKind::builtin) {
    check<DataError>(fs::is_directory(source), "--data-dir: ", source.string(),
                     " is not a directory (", options.name(), " expected there)");
    const DatasetInfo native = dataset_info(options.name());
    std::tie(files.train, files.test) = read_files(native, source);
    check<DataError>(files.train.images.size(1) == native.channels &&
                         files.train.images.size(2) == native.height &&
                         files.train.images.size(3) == native.width,
                     "reading ", source.string(), ": ", options.name(), " images must be ",
                     native.channels, "x", native.height, "x", native.width, ", got ",
                     files.train.images.sizes());
    convert_images(files.train, options.format());
    convert_images(files.test, options.format());
  } else {
    files = read_user_files(kind, options);
  }
  check<DataError>(files.test.images.sizes().slice(1) == files.train.images.sizes().slice(1),
                   "reading ", source.string(), ": test images are ", files.test.images.sizes(),
                   ", training images are ", files.train.images.sizes());
  check_labels(files.train, data.info.classes, source.string() + " (train)");
  check_labels(files.test, data.info.classes, source.string() + " (test)");
  if (data.info.mean.empty()) {
    std::tie(data.info.mean, data.info.std) = data.info.is_features()
                                                  ? feature_statistics(files.train.images)
                                                  : channel_statistics(files.train.images);
  }
  std::tie(data.train, data.val) = hold_out(std::move(files.train), options.val_size());
  data.test = std::move(files.test);
  data.order = epoch_pattern(data.train.size(), data.train.images.numel() /
                                                    std::max<int64_t>(1, data.train.size()) *
                                                    data.train.images.element_size());
  return data;
}

}  // namespace kd
