#include "lib/data/image_codec.h"

#include <array>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lib/core/error.h"

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

// Only PNG and JPEG reach OpenCV, which would otherwise hand any file to whichever of its decoders
// (TIFF, OpenEXR, ...) claims the first bytes.
void expect_png_or_jpeg(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  check<DataError>(static_cast<bool>(in), path.string(),
                   ": cannot read image (missing or unreadable)");
  std::array<unsigned char, 8> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const std::array<unsigned char, 8> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const bool is_png = in.gcount() == 8 && head == png;
  const bool is_jpeg = in.gcount() >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff;
  check<DataError>(is_png || is_jpeg, path.string(), ": not a PNG or JPEG file");
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
