#include "lib/data/cifar.h"

#include <fstream>

#include "lib/core/error.h"

namespace kd {

namespace fs = std::filesystem;

ImageSet read_cifar_files(const std::vector<fs::path>& files, int label_bytes, int64_t classes) {
  constexpr int64_t kPixels = 3 * 32 * 32;
  const int64_t record = label_bytes + kPixels;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const fs::path& path : files) {
    check<DataError>(fs::is_regular_file(path), "opening ", path.string(), ": no such file");
    const auto bytes = static_cast<int64_t>(fs::file_size(path));
    check<DataError>(bytes > 0 && bytes % record == 0, "reading ", path.string(),
                     ": truncated or not a CIFAR binary file, expected a multiple of ", record,
                     " bytes, got ", bytes);
    counts.push_back(bytes / record);
    total += bytes / record;
  }
  torch::Tensor images = torch::empty({total, 3, 32, 32}, torch::kUInt8);
  torch::Tensor labels = torch::empty({total}, torch::kInt64);
  auto* px = images.data_ptr<uint8_t>();
  auto* lb = labels.data_ptr<int64_t>();
  std::vector<unsigned char> buf(static_cast<std::size_t>(record));
  int64_t at = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    std::ifstream in(files[f], std::ios::binary);
    for (int64_t r = 0; r < counts[f]; ++r, ++at) {
      in.read(reinterpret_cast<char*>(buf.data()), record);
      check<DataError>(static_cast<bool>(in), "reading ", files[f].string(),
                       ": truncated at record ", r);
      const int64_t label = buf[static_cast<std::size_t>(label_bytes - 1)];
      check<DataError>(label < classes, "reading ", files[f].string(), ": label ", label,
                       " at record ", r, " out of range, expected labels in [0, ", classes, ")");
      lb[at] = label;
      std::copy(buf.begin() + label_bytes, buf.end(), px + at * kPixels);
    }
  }
  return {images, labels};
}

}  // namespace kd
