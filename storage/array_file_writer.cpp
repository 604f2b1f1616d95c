// The writers of the array-file format (storage/array_file.h): write_array_file and
// `kdpipe import`.
#include <map>

#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "lib/data/image_folder.h"
#include "storage/array_file.h"
#include "storage/h5.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// /SPLIT/images uint8 [N, H, W, C] (or a feature array's /SPLIT/inputs float32 [N, ...]), chunked
// by 256 examples, gzip level `compress`.
h5::Handle create_examples(hid_t file, const std::string& name, std::vector<hsize_t> shape,
                           bool features, int compress, const fs::path& tmp) {
  std::vector<hsize_t> chunk = shape;
  chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(shape[0], 256));
  return h5::create_dataset(file, name, features ? H5T_IEEE_F32LE : H5T_STD_U8LE,
                            {shape, chunk, compress}, tmp);
}

void write_labels(hid_t file, const std::string& split, const torch::Tensor& labels_in,
                  const fs::path& tmp) {
  const torch::Tensor labels = labels_in.contiguous();
  const std::vector<hsize_t> n = {static_cast<hsize_t>(labels.numel())};
  const h5::Handle lb =
      h5::create_dataset(file, "/" + split + "/labels", H5T_STD_I64LE, {n, {}, 0}, tmp);
  h5::write_block(lb, H5T_NATIVE_INT64, {0}, n, labels.data_ptr(), tmp,
                  "writing /" + split + "/labels");
}

void write_root_attributes(hid_t file, const std::vector<std::string>& class_names,
                           const std::string& source, const fs::path& tmp) {
  h5::set_attr(file, "class_names", class_names, tmp);
  h5::set_attr(file, "source", source, tmp);
  h5::set_attr(file, "kdpipe_version", std::string(version()), tmp);
  h5::set_attr(file, "created", utc_timestamp(), tmp);
}

// Images [n, C, H, W] written as [n, H, W, C] at example `first` of `images`.
void write_images(const h5::Handle& images, int64_t first, const torch::Tensor& nchw,
                  const std::string& name, const fs::path& tmp) {
  const torch::Tensor hwc = nchw.permute({0, 2, 3, 1}).contiguous();
  std::vector<hsize_t> count(hwc.sizes().begin(), hwc.sizes().end());
  std::vector<hsize_t> start(count.size(), 0);
  start[0] = static_cast<hsize_t>(first);
  h5::write_block(images, H5T_NATIVE_UINT8, start, count, hwc.data_ptr(), tmp, "writing " + name);
}

}  // namespace

void write_array_file(const fs::path& path, const DatasetFiles& files, const std::string& source,
                      int compress) {
  write_atomically(path, [&](const fs::path& tmp) {
    const h5::Handle file = h5::create_file(tmp);
    for (const auto& [split, set] :
         {std::pair<std::string, const ImageSet*>{"train", &files.train}, {"test", &files.test}}) {
      // Feature arrays as they are, float32 [N, ...]; images as h5py users hold them, [N, H, W, C].
      const bool features = set->images.is_floating_point();
      const std::string name = "/" + split + (features ? "/inputs" : "/images");
      if (features) {
        const torch::Tensor data = set->images.to(torch::kFloat32).contiguous();
        const std::vector<hsize_t> shape(data.sizes().begin(), data.sizes().end());
        const h5::Handle in = create_examples(file.get(), name, shape, true, compress, tmp);
        h5::write_block(in, H5T_NATIVE_FLOAT, std::vector<hsize_t>(shape.size(), 0), shape,
                        data.data_ptr(), tmp, "writing " + name);
      } else {
        const auto& d = set->images.sizes();
        const h5::Handle im =
            create_examples(file.get(), name,
                            {static_cast<hsize_t>(d[0]), static_cast<hsize_t>(d[2]),
                             static_cast<hsize_t>(d[3]), static_cast<hsize_t>(d[1])},
                            false, compress, tmp);
        write_images(im, 0, set->images, name, tmp);
      }
      write_labels(file.get(), split, set->labels, tmp);
    }
    write_root_attributes(file.get(), files.class_names, source, tmp);
  });
}

ImportSummary import_image_folder(const fs::path& root, const ImageFormat& format,
                                  const fs::path& path, int compress, Progress& progress,
                                  int64_t block_bytes) {
  const ImageFolderPlan plan = plan_image_folder(root, format);
  const ImageFormat& t = plan.target;
  const int64_t block = std::max<int64_t>(1, block_bytes / (t.channels * t.height * t.width));
  ImportSummary summary{static_cast<int64_t>(plan.train.files.size()),
                        static_cast<int64_t>(plan.test.files.size()), t,
                        static_cast<int64_t>(plan.train.classes.size())};
  write_atomically(path, [&](const fs::path& tmp) {
    const h5::Handle file = h5::create_file(tmp);
    std::map<std::string, h5::Handle> images;
    for (const auto& [split, listing] :
         {std::pair<std::string, const ImageListing*>{"train", &plan.train},
          {"test", &plan.test}}) {
      const auto n = static_cast<hsize_t>(listing->files.size());
      images[split] =
          create_examples(file.get(), "/" + split + "/images",
                          {n, static_cast<hsize_t>(t.height), static_cast<hsize_t>(t.width),
                           static_cast<hsize_t>(t.channels)},
                          false, compress, tmp);
      write_labels(file.get(), split, torch::tensor(listing->labels, torch::kInt64), tmp);
    }
    // One block of decoded images in memory at a time, written as it is decoded.
    decode_image_folder(
        plan, block, progress, [&](const std::string& split, int64_t first, const ImageSet& b) {
          write_images(images.at(split), first, b.images, "/" + split + "/images", tmp);
        });
    write_root_attributes(file.get(), plan.train.classes, fs::absolute(root).string(), tmp);
  });
  return summary;
}

}  // namespace kd
