// Image files of image-folder datasets (PNG and JPEG through OpenCV), decoded and converted.
#include "lib/data/image_codec.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "image.png");
  kd::fuzz::expect_named_refusal([&] {
    const torch::Tensor image = kd::decode_image(path);
    kd::convert_image(image, {3, 16, 16});
  });
  return 0;
}
