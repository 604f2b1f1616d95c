// CIFAR-10 and CIFAR-100 binary batches: record sizes and labels.
#include "lib/data/cifar.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "data_batch.bin");
  kd::fuzz::expect_named_refusal([&] { kd::read_cifar_files({path}, 1, 10); });
  kd::fuzz::expect_named_refusal([&] { kd::read_cifar_files({path}, 2, 100); });
  return 0;
}
