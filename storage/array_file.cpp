#include "storage/array_file.h"

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/names.h"
#include "lib/data/array_file.h"
#include "storage/array_file_checks.h"
#include "storage/array_stream.h"
#include "storage/h5.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kExpected =
    " (an array file holds /train/images uint8 [N, H, W, C] or /train/inputs float [N, ...], "
    "/train/labels integer [N] and the same under /test)";

// /<split>/inputs [N, ...] of float32, float16 (or float64): a feature array's examples.
SplitShape check_inputs(const h5::Handle& in, const fs::path& path, const std::string& name) {
  const auto [in_class, in_size] = h5::stored_type(in, path);
  check<DataError>(in_class == H5T_FLOAT, path.string(), ": ", name,
                   " must hold floating-point values (float32, float16 or float64)", kExpected);
  const std::vector<hsize_t> s = h5::shape(in, path);
  check<DataError>(s.size() >= 2 && s.size() <= 5, path.string(), ": ", name, " has shape ",
                   h5::shape_text(s), ", expected [N, ...] with 1 to 4 dimensions per example");
  SplitShape out;
  out.n = static_cast<int64_t>(s[0]);
  int64_t values = 1;
  for (std::size_t d = 1; d < s.size(); ++d) {
    check<DataError>(s[d] > 0 && s[d] <= static_cast<hsize_t>(kMaxFeatureValues), path.string(),
                     ": ", name, " has shape ", h5::shape_text(s), ": empty or too large examples");
    out.features.push_back(static_cast<int64_t>(s[d]));
    values *= static_cast<int64_t>(s[d]);
  }
  check<DataError>(values <= kMaxFeatureValues, path.string(), ": ", name, " has shape ",
                   h5::shape_text(s), ": more than ", kMaxFeatureValues, " values per example");
  out.channels = 1, out.height = 1, out.width = values;
  return out;
}

// Opens and checks /<split>/images (or /<split>/inputs) and /<split>/labels; their shape, read
// from the file.
SplitShape check_split(hid_t file, const fs::path& path, const std::string& split) {
  const std::string inputs = "/" + split + "/inputs";
  const bool features = h5::exists(file, inputs);
  check<DataError>(!features || !h5::exists(file, "/" + split + "/images"), path.string(), ": /",
                   split, " holds both images and inputs: one kind of data per file", kExpected);
  const std::string images = features ? inputs : "/" + split + "/images";
  const std::string labels = "/" + split + "/labels";
  for (const std::string& name : {images, labels}) {
    check<DataError>(h5::exists(file, name), path.string(), ": ", name, " is missing", kExpected);
  }
  const h5::Handle im = h5::open_dataset(file, images, path);
  const std::vector<hsize_t> s = h5::shape(im, path);
  SplitShape out;
  if (features) {
    out = check_inputs(im, path, images);
  } else {
    const auto [im_class, im_size] = h5::stored_type(im, path);
    check<DataError>(im_class == H5T_INTEGER && im_size == 1 && !h5::stored_signed(im, path),
                     path.string(), ": ", images, " must be uint8 pixels",
                     im_class == H5T_INTEGER && im_size == 1 ? " (it holds signed int8)" : "",
                     kExpected);
    check<DataError>((s.size() == 4 && (s[3] == 1 || s[3] == 3)) || s.size() == 3, path.string(),
                     ": ", images, " has shape ", h5::shape_text(s),
                     ", expected [N, H, W, C] with C 1 or 3, or [N, H, W]");
    out = {static_cast<int64_t>(s[0]), static_cast<int64_t>(s[1]), static_cast<int64_t>(s[2]),
           s.size() == 4 ? static_cast<int64_t>(s[3]) : 1};
  }
  const h5::Handle lb = h5::open_dataset(file, labels, path);
  const std::vector<hsize_t> ls = h5::shape(lb, path);
  check<DataError>(h5::stored_type(lb, path).first == H5T_INTEGER, path.string(), ": ", labels,
                   " must hold integers", kExpected);
  check<DataError>(ls.size() == 1 && ls[0] == s[0], path.string(), ": ", labels, " has shape ",
                   h5::shape_text(ls), ", expected [", s[0], "] (one label per example)");
  check<DataError>(s[0] > 0, path.string(), ": ", images, " holds no examples");
  check<DataError>(features || (s[1] > 0 && s[2] > 0), path.string(), ": ", images, " has shape ",
                   h5::shape_text(s), ": images of ", s[1], "x", s[2],
                   " pixels (expected at least 1x1)");
  for (const auto& [name, ds] :
       {std::pair<std::string, const h5::Handle*>{images, &im}, {labels, &lb}}) {
    const std::string missing = h5::missing_data(*ds, path);
    check<DataError>(missing.empty(), path.string(), ": ", name, " declares ",
                     h5::shape_text(h5::shape(*ds, path)), " but ", missing);
  }
  return out;
}

}  // namespace

torch::Tensor read_labels(hid_t file, const fs::path& path, const std::string& split, int64_t n) {
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  const h5::Handle lb = h5::open_dataset(file, "/" + split + "/labels", path);
  h5::read_block(lb, H5T_NATIVE_INT64, {0}, {static_cast<hsize_t>(n)}, labels.data_ptr(), path,
                 "reading /" + split + "/labels");
  return labels;
}

namespace {

ImageSet read_split(hid_t file, const fs::path& path, const std::string& split,
                    const SplitShape& s) {
  if (!s.features.empty()) {
    std::vector<int64_t> shape{s.n};
    shape.insert(shape.end(), s.features.begin(), s.features.end());
    torch::Tensor inputs = torch::empty(shape, torch::kFloat32);
    const h5::Handle in = h5::open_dataset(file, "/" + split + "/inputs", path);
    const std::vector<hsize_t> count(shape.begin(), shape.end());
    h5::read_block(in, H5T_NATIVE_FLOAT, std::vector<hsize_t>(count.size(), 0), count,
                   inputs.data_ptr(), path, "reading /" + split + "/inputs");
    check<DataError>(torch::isfinite(inputs).all().item<bool>(), path.string(), ": /", split,
                     "/inputs holds values that are not finite as float32 (NaN, infinity, or ",
                     "beyond float32's range)");
    return {inputs, read_labels(file, path, split, s.n)};
  }
  // Read a block of examples at a time and turned from [n, H, W, C] into [n, C, H, W] in place in
  // the result, so the pixels are held once (not a second time as read).
  torch::Tensor nchw = torch::empty({s.n, s.channels, s.height, s.width}, torch::kUInt8);
  const h5::Handle im = h5::open_dataset(file, "/" + split + "/images", path);
  const bool has_channels = h5::shape(im, path).size() == 4;
  const int64_t block =
      std::max<int64_t>(1, (int64_t{16} << 20) / (s.height * s.width * s.channels));
  torch::Tensor hwc =
      torch::empty({std::min(block, s.n), s.height, s.width, s.channels}, torch::kUInt8);
  for (int64_t first = 0; first < s.n; first += block) {
    const int64_t rows = std::min(block, s.n - first);
    std::vector<hsize_t> start = {static_cast<hsize_t>(first), 0, 0};
    std::vector<hsize_t> count = {static_cast<hsize_t>(rows), static_cast<hsize_t>(s.height),
                                  static_cast<hsize_t>(s.width)};
    if (has_channels) start.push_back(0), count.push_back(static_cast<hsize_t>(s.channels));
    h5::read_block(im, H5T_NATIVE_UINT8, start, count, hwc.data_ptr(), path,
                   "reading /" + split + "/images");
    nchw.narrow(0, first, rows).copy_(hwc.narrow(0, 0, rows).permute({0, 3, 1, 2}));
  }
  return {nchw, read_labels(file, path, split, s.n)};
}

}  // namespace

namespace {

Opened open_unguarded(const fs::path& path) {
  Opened o;
  try {
    o.file = h5::open_file(path, /*writable=*/false);
  } catch (const StorageError& e) {
    throw DataError(std::string(e.what()) + kExpected);
  }
  o.train = check_split(o.file.get(), path, "train");
  o.test = check_split(o.file.get(), path, "test");
  check<DataError>(o.train.features.empty() == o.test.features.empty(), path.string(),
                   ": one split holds images and the other feature arrays (inputs)");
  check<DataError>(o.train.features == o.test.features, path.string(),
                   ": /test/inputs examples are ", InputShape{1, 1, 1, o.test.features}.text(),
                   ", /train/inputs examples ", InputShape{1, 1, 1, o.train.features}.text());
  check<DataError>(o.train.height == o.test.height && o.train.width == o.test.width &&
                       o.train.channels == o.test.channels,
                   path.string(), ": /test/images are ", o.test.height, "x", o.test.width, "x",
                   o.test.channels, ", /train/images are ", o.train.height, "x", o.train.width, "x",
                   o.train.channels);
  if (h5::has_attr(o.file.get(), "class_names")) {
    o.class_names = h5::get_strings(o.file.get(), "class_names", path);
    check<DataError>(!o.class_names.empty(), path.string(), ": class_names is empty");
    // A class name reaches metrics.json, the report and the terminal: the naming policy.
    for (std::size_t i = 0; i < o.class_names.size(); ++i) {
      const std::string problem = path_text_problem(o.class_names[i]);
      check<DataError>(problem.empty(), path.string(), ": class_names[", i, "] '",
                       escaped(o.class_names[i]), "': ", problem,
                       " (a class name must be valid UTF-8 without control characters)");
    }
  }
  return o;
}

}  // namespace

Opened open_checked(const fs::path& path) {
  check<DataError>(fs::is_regular_file(path), path.string(), ": ",
                   fs::exists(path) ? file_kind(path) + ", not a regular file" : "no such file");
  const std::string problem = h5::reading_problem([&] { open_unguarded(path); });
  check<DataError>(problem.empty(), path.string(), ": ", problem);
  return open_unguarded(path);
}

namespace {

// Classes: class_names when the file has it, else one more than the largest label.
int64_t class_count(const Opened& o, const fs::path& path, const torch::Tensor& train_labels,
                    const torch::Tensor& test_labels) {
  const int64_t classes =
      o.class_names.empty()
          ? std::max(train_labels.max().item<int64_t>(), test_labels.max().item<int64_t>()) + 1
          : static_cast<int64_t>(o.class_names.size());
  check<DataError>(classes <= kMaxClasses, path.string(), ": ",
                   o.class_names.empty() ? "labels go up to " + std::to_string(classes - 1)
                                         : std::to_string(classes) + " class_names",
                   ", more than kdpipe's ", kMaxClasses, " classes");
  return classes;
}

std::vector<std::string> numbered_classes(int64_t classes) {
  std::vector<std::string> out;
  for (int64_t c = 0; c < classes; ++c) out.push_back("class " + std::to_string(c));
  return out;
}

}  // namespace

DatasetInfo probe_array_file(const fs::path& path) {
  const Opened o = open_checked(path);
  DatasetInfo info;
  info.name = path.stem().string();
  info.channels = o.train.channels, info.height = o.train.height, info.width = o.train.width;
  info.features = o.train.features;
  info.train_examples = o.train.n;
  info.classes = class_count(o, path, read_labels(o.file.get(), path, "train", o.train.n),
                             read_labels(o.file.get(), path, "test", o.test.n));
  info.class_names = o.class_names.empty() ? numbered_classes(info.classes) : o.class_names;
  return info;
}

DatasetFiles read_array_file(const fs::path& path) {
  const Opened o = open_checked(path);
  DatasetFiles files;
  files.train = read_split(o.file.get(), path, "train", o.train);
  files.test = read_split(o.file.get(), path, "test", o.test);
  const int64_t classes = class_count(o, path, files.train.labels, files.test.labels);
  files.class_names = o.class_names.empty() ? numbered_classes(classes) : o.class_names;
  return files;
}

void enable_array_files() {
  register_array_file_reader({&probe_array_file, &read_array_file, &open_array_stream});
}

}  // namespace kd
