#include "lib/data/image_folder.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "lib/core/error.h"
#include "lib/core/names.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (directories ? entry.is_directory() : (entry.is_regular_file() && is_image(entry.path())))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string shape_text(const torch::Tensor& image) {
  return std::to_string(image.size(1)) + "x" + std::to_string(image.size(2));
}

// The format every image of the folder is converted to: `format`, completed from `first`.
ImageFormat complete(const ImageFormat& format, const torch::Tensor& first) {
  ImageFormat out = format;
  if (!out.channels) out.channels = first.size(0);
  if (!out.height) out.height = first.size(1), out.width = first.size(2);
  return out;
}

void check_same_classes(const ImageListing& train, const ImageListing& test, const fs::path& root) {
  if (train.classes == test.classes) return;
  for (const std::string& c : train.classes) {
    check<DataError>(std::count(test.classes.begin(), test.classes.end(), c) > 0,
                     (root / "test").string(), ": class folder '", c,
                     "' is missing (it is in train/); test classes must equal train classes");
  }
  for (const std::string& c : test.classes) {
    check<DataError>(std::count(train.classes.begin(), train.classes.end(), c) > 0,
                     (root / "test" / c).string(),
                     ": class is not in train/; test classes must equal train classes");
  }
}

// What every image becomes, and whether sizes other than the target's are resized (--image-size)
// or refused.
struct DecodePlan {
  ImageFormat target;
  bool resize = false;
};

ImageSet decode_split(const ImageListing& listing, const DecodePlan& plan, const fs::path& first,
                      const std::string& split, Progress& progress) {
  const int64_t n = static_cast<int64_t>(listing.files.size());
  const ImageFormat& t = plan.target;
  ImageSet set{torch::empty({n, t.channels, t.height, t.width}, torch::kUInt8),
               torch::tensor(listing.labels, torch::kInt64)};
  std::mutex mutex;
  int64_t failed_at = n;  // the first failing example, so the error is the same on every run
  std::string failure;
  const auto started = std::chrono::steady_clock::now();
  tbb::task_arena arena(std::max(1, torch::get_num_threads()));
  constexpr int64_t kBlock = 1024;  // the bar is redrawn between blocks
  for (int64_t start = 0; start < n && failed_at == n; start += kBlock) {
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<int64_t>(start, std::min(n, start + kBlock)),
          [&](const tbb::blocked_range<int64_t>& r) {
            for (int64_t i = r.begin(); i < r.end(); ++i) {
              const fs::path& file = listing.files[static_cast<std::size_t>(i)];
              try {
                torch::Tensor image = decode_image(file);
                const bool sized = image.size(1) == t.height && image.size(2) == t.width;
                check<DataError>(sized || plan.resize, file.string(), ": image is ",
                                 shape_text(image), ", ", first.string(), " is ", t.height, "x",
                                 t.width, "; pass --image-size HxW to resize every image");
                set.images[i].copy_(convert_image(image, t));
              } catch (const Error& e) {
                const std::lock_guard<std::mutex> lock(mutex);
                if (i < failed_at) failed_at = i, failure = e.what();
              }
            }
          });
    });
    progress.count("decoding " + split + " images", std::min(n, start + kBlock), n);
  }
  if (failed_at < n) throw DataError(failure);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char line[128];
  std::snprintf(line, sizeof line, "decoded %lld %s images in %.1f s (%.0f images/s)",
                static_cast<long long>(n), split.c_str(), seconds, n / std::max(seconds, 1e-9));
  progress.finish(line);
  return set;
}

}  // namespace

ImageListing list_image_split(const fs::path& split_dir) {
  check<DataError>(fs::is_directory(split_dir), split_dir.string(),
                   ": no such folder (an image folder holds train/<class>/ and test/<class>/)");
  ImageListing out;
  for (const fs::path& class_dir : sorted_entries(split_dir, /*directories=*/true)) {
    const std::vector<fs::path> files = sorted_entries(class_dir, /*directories=*/false);
    check<DataError>(!files.empty(), class_dir.string(),
                     ": empty class folder (expected .png, .jpg or .jpeg files)");
    const auto label = static_cast<int64_t>(out.classes.size());
    // A class name reaches metrics.json, the report and the terminal: the naming policy.
    const std::string name = class_dir.filename().string();
    check<DataError>(path_text_problem(name).empty(), split_dir.string(), ": class folder '",
                     escaped(name), "': ", path_text_problem(name),
                     " (a class name must be valid UTF-8 without control characters)");
    out.classes.push_back(name);
    out.files.insert(out.files.end(), files.begin(), files.end());
    out.labels.insert(out.labels.end(), files.size(), label);
  }
  check<DataError>(!out.classes.empty(), split_dir.string(),
                   ": no class folders (expected one folder of images per class)");
  return out;
}

DatasetInfo probe_image_folder(const fs::path& root, const ImageFormat& format) {
  const ImageListing train = list_image_split(root / "train");
  check_same_classes(train, list_image_split(root / "test"), root);
  const ImageFormat f = complete(format, decode_image(train.files.front()));
  DatasetInfo info;
  info.name =
      root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  info.channels = f.channels, info.height = f.height, info.width = f.width;
  info.classes = static_cast<int64_t>(train.classes.size());
  info.class_names = train.classes;
  return info;
}

DatasetFiles read_image_folder(const fs::path& root, const ImageFormat& format,
                               Progress& progress) {
  const ImageListing train = list_image_split(root / "train");
  const ImageListing test = list_image_split(root / "test");
  check_same_classes(train, test, root);
  const fs::path& first = train.files.front();
  const ImageFormat target = complete(format, decode_image(first));
  const DecodePlan plan{target, format.height != 0};
  DatasetFiles out;
  out.train = decode_split(train, plan, first, "train", progress);
  out.test = decode_split(test, plan, first, "test", progress);
  out.class_names = train.classes;
  return out;
}

}  // namespace kd
