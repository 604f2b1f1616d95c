#include "tests/support/synthetic.h"

#include <torch/script.h>
#include <zlib.h>

#include <fstream>
#include <stdexcept>

#include "lib/data/datasets.h"
#include "lib/data/idx.h"
#include "lib/data/image_codec.h"

namespace kd::testing {

namespace {

std::string big_endian(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

}  // namespace

void write_bytes(const std::filesystem::path& path, const std::string& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path.string());
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

void write_idx_images(const std::filesystem::path& path, const torch::Tensor& images, bool gzip) {
  const torch::Tensor px = images.reshape({images.size(0), images.size(-2), images.size(-1)})
                               .to(torch::kUInt8)
                               .contiguous();
  std::string bytes = big_endian(0x803) + big_endian(static_cast<uint32_t>(px.size(0))) +
                      big_endian(static_cast<uint32_t>(px.size(1))) +
                      big_endian(static_cast<uint32_t>(px.size(2)));
  bytes.append(reinterpret_cast<const char*>(px.data_ptr<uint8_t>()), px.numel());
  write_bytes(path, bytes, gzip);
}

void write_idx_labels(const std::filesystem::path& path, const torch::Tensor& labels, bool gzip) {
  const torch::Tensor lb = labels.to(torch::kUInt8).contiguous();
  std::string bytes = big_endian(0x801) + big_endian(static_cast<uint32_t>(lb.size(0)));
  bytes.append(reinterpret_cast<const char*>(lb.data_ptr<uint8_t>()), lb.numel());
  write_bytes(path, bytes, gzip);
}

ImageSet make_synthetic(int64_t n, int64_t classes, int64_t channels, int64_t size, uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  torch::Tensor labels = torch::randint(classes, {n}, gen, torch::kInt64);
  torch::Tensor images = torch::randint(0, 60, {n, channels, size, size}, gen, torch::kInt64);
  const int64_t cells = (size - 6) / 3 + 1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[i].item<int64_t>();
    const int64_t y = (c * 7 / cells) % cells * 3, x = (c * 7) % cells * 3;
    images[i].slice(1, y, y + 6).slice(2, x, x + 6).fill_(220);
  }
  return {images.to(torch::kUInt8), labels};
}

void write_synthetic_mnist(const std::filesystem::path& dir, int64_t n_train, int64_t n_test,
                           uint64_t seed) {
  std::filesystem::create_directories(dir);
  const ImageSet train = make_synthetic(n_train, 10, 1, 28, seed);
  const ImageSet test = make_synthetic(n_test, 10, 1, 28, seed + 1000);
  write_idx_images(dir / "train-images-idx3-ubyte.gz", train.images, true);
  write_idx_labels(dir / "train-labels-idx1-ubyte.gz", train.labels, true);
  write_idx_images(dir / "t10k-images-idx3-ubyte.gz", test.images, true);
  write_idx_labels(dir / "t10k-labels-idx1-ubyte.gz", test.labels, true);
}

void write_image_folder(const std::filesystem::path& root, const DatasetFiles& files) {
  for (const auto& [split, set] :
       {std::pair<std::string, const ImageSet*>{"train", &files.train}, {"test", &files.test}}) {
    for (const std::string& name : files.class_names)
      std::filesystem::create_directories(root / split / name);
    for (int64_t i = 0; i < set->size(); ++i) {
      char file[32];
      std::snprintf(file, sizeof file, "%05lld.png", static_cast<long long>(i));
      const std::string& name =
          files.class_names[static_cast<std::size_t>(set->labels[i].item<int64_t>())];
      write_png(root / split / name / file, set->images[i]);
    }
  }
}

DatasetFiles fashion_mnist_sample(int64_t n_train, int64_t n_test) {
  const std::filesystem::path dir = default_data_dir("fashion-mnist");
  DatasetFiles out;
  out.train = read_idx_split(dir, "train", 10);
  out.test = read_idx_split(dir, "t10k", 10);
  out.train = out.train.select(torch::arange(n_train));
  out.test = out.test.select(torch::arange(n_test));
  out.class_names = {"0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat",
                     "5-sandal", "6-shirt",   "7-sneaker",  "8-bag",   "9-boot"};
  return out;
}

void save_nan_teacher(const std::filesystem::path& file) {
  torch::jit::Module m("Broken");
  m.register_parameter("w", torch::randn({784, 10}), false);
  m.define(R"(
    def forward(self, x):
        return torch.matmul(x.flatten(1), self.w) * float('nan')
  )");
  m.save(file.string());
}

}  // namespace kd::testing
