#include "lib/data/image_codec.h"

#include <array>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "lib/core/error.h"
#include "lib/data/image_set.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

// uint8 [C, H, W] tensor → interleaved cv::Mat (a copy, in OpenCV's BGR order for colour).
cv::Mat to_mat(const torch::Tensor& image) {
  const torch::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  const int c = static_cast<int>(image.size(0));
  cv::Mat rgb(static_cast<int>(image.size(1)), static_cast<int>(image.size(2)), CV_8UC(c),
              hwc.data_ptr<uint8_t>());
  cv::Mat out;
  if (c == 3) {
    cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);
  } else {
    out = rgb.clone();
  }
  return out;
}

// Interleaved 8-bit cv::Mat with 1 or 3 (BGR) channels → uint8 [C, H, W] (RGB).
torch::Tensor to_tensor(const cv::Mat& mat) {
  cv::Mat rgb;
  if (mat.channels() == 3) {
    cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB);
  } else {
    rgb = mat.isContinuous() ? mat : mat.clone();
  }
  // A copy, always: for one channel the permuted view is already contiguous, and `contiguous()`
  // would return a tensor over `rgb`'s pixels, freed when this function returns.
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, rgb.channels()}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);
}

// Big-endian 16 or 32 bits of `b` at `at`.
int64_t be(const std::string& b, std::size_t at, int bytes) {
  int64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// Width and height a JPEG's frame header (SOF) declares, or {-1, -1} when the markers before it
// are broken or there is none: libjpeg would look further, and maybe find a frame of any size.
std::pair<int64_t, int64_t> jpeg_size(const std::string& b) {
  std::size_t at = 2;
  while (at + 9 <= b.size() && static_cast<unsigned char>(b[at]) == 0xff) {
    const int marker = static_cast<unsigned char>(b[at + 1]);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // markers without a length
      at += 2;
      continue;
    }
    const bool sof =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (sof) return {be(b, at + 7, 2), be(b, at + 5, 2)};
    if (marker == 0xda || be(b, at + 2, 2) < 2) break;  // scan data before any frame: damaged
    at += 2 + static_cast<std::size_t>(be(b, at + 2, 2));
  }
  return {-1, -1};
}

// Only PNG and JPEG reach OpenCV, which would otherwise hand any file to whichever of its decoders
// (TIFF, OpenEXR, ...) claims the first bytes; and only images up to kMaxImageSide on a side, whose
// header is read here first: a few damaged bytes can declare a gigapixel image.
void expect_png_or_jpeg(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  check<DataError>(static_cast<bool>(in), path.string(),
                   ": cannot read image (missing or unreadable)");
  const std::string head((std::istreambuf_iterator<char>(in)), {});  // image files are small
  const bool is_png = head.rfind(std::string("\x89PNG\r\n\x1a\n", 8), 0) == 0 && head.size() >= 24;
  const bool is_jpeg = head.size() >= 3 && head.rfind("\xff\xd8\xff", 0) == 0;
  check<DataError>(is_png || is_jpeg, path.string(), ": not a PNG or JPEG file");
  const auto [w, h] = is_png ? std::pair{be(head, 16, 4), be(head, 20, 4)} : jpeg_size(head);
  check<DataError>(w >= 0, path.string(), ": damaged JPEG (no frame header where one belongs)");
  check<DataError>(w <= kMaxImageSide && h <= kMaxImageSide, path.string(), ": image is ", w, "x",
                   h, ", larger than kdpipe's ", kMaxImageSide, "x", kMaxImageSide,
                   " (or a damaged header)");
}

}  // namespace

torch::Tensor decode_image(const fs::path& path) {
  expect_png_or_jpeg(path);
  cv::Mat raw;
  try {
    raw = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw DataError(path.string() + ": cannot decode image (" + e.err + ")");
  }
  check<DataError>(!raw.empty(), path.string(),
                   ": cannot read image (missing, unreadable, corrupt or not PNG/JPEG)");
  if (raw.depth() == CV_16U) raw.convertTo(raw, CV_8U, 1.0 / 257.0);
  check<DataError>(raw.depth() == CV_8U, path.string(), ": unsupported sample type (expected 8 or ",
                   "16-bit integer samples)");
  cv::Mat mat;
  switch (raw.channels()) {
    case 1:
    case 3:
      mat = raw;
      break;
    case 2:  // grey + alpha
      cv::extractChannel(raw, mat, 0);
      break;
    case 4:
      cv::cvtColor(raw, mat, cv::COLOR_BGRA2BGR);
      break;
    default:
      throw DataError(path.string() + ": unsupported image with " + std::to_string(raw.channels()) +
                      " channels");
  }
  return to_tensor(mat);
}

torch::Tensor convert_image(const torch::Tensor& image, const ImageFormat& format) {
  const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  const int64_t want_c = format.channels ? format.channels : c;
  const int64_t want_h = format.height ? format.height : h;
  const int64_t want_w = format.width ? format.width : w;
  if (want_c == c && want_h == h && want_w == w) return image;
  cv::Mat mat = to_mat(image);
  if (want_c != c) {
    cv::Mat converted;
    cv::cvtColor(mat, converted, want_c == 1 ? cv::COLOR_BGR2GRAY : cv::COLOR_GRAY2BGR);
    mat = converted;
  }
  if (want_h != h || want_w != w) {
    cv::Mat resized;
    const bool shrinking = want_h * want_w < h * w;
    cv::resize(mat, resized, cv::Size(static_cast<int>(want_w), static_cast<int>(want_h)), 0, 0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    mat = resized;
  }
  return to_tensor(mat);
}

void write_png(const fs::path& path, const torch::Tensor& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), to_mat(image));
  } catch (const cv::Exception& e) {
    throw StorageError(path.string() + ": cannot write PNG (" + e.err + ")");
  }
  check<StorageError>(ok, path.string(), ": cannot write PNG");
}

}  // namespace kd
