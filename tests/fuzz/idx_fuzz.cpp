// IDX image and label files (MNIST layout), gzipped or raw: the magic number, the declared counts
// and sizes, and the data that follows.
#include "lib/data/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "input-idx-ubyte");
  kd::fuzz::expect_named_refusal([&] { kd::read_idx_images(path); });
  kd::fuzz::expect_named_refusal([&] { kd::read_idx_labels(path); });
  return 0;
}
