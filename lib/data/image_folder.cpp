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

// Decodes examples [begin, end) of `listing` in parallel into `out` (rows from 0); the error of the
// first failing example (the same on every run), or "".
std::string decode_range(const ImageListing& listing, const ImageFolderPlan& plan, int64_t begin,
                         int64_t end, torch::Tensor& out) {
  const ImageFormat& t = plan.target;
  std::mutex mutex;
  int64_t failed_at = end;
  std::string failure;
  tbb::task_arena arena(std::max(1, torch::get_num_threads()));
  arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(begin, end), [&](const tbb::blocked_range<int64_t>& r) {
          for (int64_t i = r.begin(); i < r.end(); ++i) {
            const fs::path& file = listing.files[static_cast<std::size_t>(i)];
            try {
              torch::Tensor image = decode_image(file);
              const bool sized = image.size(1) == t.height && image.size(2) == t.width;
              check<DataError>(sized || plan.resize, file.string(), ": image is ",
                               shape_text(image), ", ", plan.first.string(), " is ", t.height, "x",
                               t.width, "; pass --image-size HxW to resize every image");
              out[i - begin].copy_(convert_image(image, t));
            } catch (const Error& e) {
              const std::lock_guard<std::mutex> lock(mutex);
              if (i < failed_at) failed_at = i, failure = e.what();
            }
          }
        });
  });
  return failure;
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
  info.train_examples = static_cast<int64_t>(train.files.size());
  return info;
}

ImageFolderPlan plan_image_folder(const fs::path& root, const ImageFormat& format) {
  ImageFolderPlan plan;
  plan.train = list_image_split(root / "train");
  plan.test = list_image_split(root / "test");
  check_same_classes(plan.train, plan.test, root);
  plan.first = plan.train.files.front();
  plan.target = complete(format, decode_image(plan.first));
  plan.resize = format.height != 0;
  return plan;
}

void decode_image_folder(const ImageFolderPlan& plan, int64_t block, Progress& progress,
                         const ImageBlockSink& sink) {
  TORCH_CHECK(block > 0, "decode_image_folder: block ", block);
  const ImageFormat& t = plan.target;
  for (const auto& [split, listing] :
       {std::pair<std::string, const ImageListing*>{"train", &plan.train}, {"test", &plan.test}}) {
    const int64_t n = static_cast<int64_t>(listing->files.size());
    const auto started = std::chrono::steady_clock::now();
    torch::Tensor images =
        torch::empty({std::min(block, n), t.channels, t.height, t.width}, torch::kUInt8);
    const torch::Tensor labels = torch::tensor(listing->labels, torch::kInt64);
    for (int64_t begin = 0; begin < n; begin += block) {
      const int64_t end = std::min(n, begin + block);
      const std::string failure = decode_range(*listing, plan, begin, end, images);
      if (!failure.empty()) throw DataError(failure);
      sink(split, begin, ImageSet{images.narrow(0, 0, end - begin), labels.slice(0, begin, end)});
      progress.count("decoding " + split + " images", end, n);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    char line[128];
    std::snprintf(line, sizeof line, "decoded %lld %s images in %.1f s (%.0f images/s)",
                  static_cast<long long>(n), split.c_str(), seconds, n / std::max(seconds, 1e-9));
    progress.finish(line);
  }
}

DatasetFiles read_image_folder(const fs::path& root, const ImageFormat& format,
                               Progress& progress) {
  const ImageFolderPlan plan = plan_image_folder(root, format);
  const ImageFormat& t = plan.target;
  DatasetFiles out;
  for (const auto& [set, listing] :
       {std::pair<ImageSet*, const ImageListing*>{&out.train, &plan.train},
        {&out.test, &plan.test}}) {
    const auto n = static_cast<int64_t>(listing->files.size());
    *set = {torch::empty({n, t.channels, t.height, t.width}, torch::kUInt8),
            torch::tensor(listing->labels, torch::kInt64)};
  }
  // A block at a time, so the bar is redrawn between blocks; into the whole sets.
  decode_image_folder(plan, 1024, progress,
                      [&](const std::string& split, int64_t first, const ImageSet& block) {
                        ImageSet& set = split == "train" ? out.train : out.test;
                        set.images.narrow(0, first, block.size()).copy_(block.images);
                      });
  out.class_names = plan.train.classes;
  return out;
}

}  // namespace kd
