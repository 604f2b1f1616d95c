// Array-file datasets (HDF5 written by h5py or `kdpipe import`): probed, then read whole.
#include "storage/array_file.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "arrays.h5");
  kd::fuzz::expect_named_refusal([&] { kd::probe_array_file(path); });
  kd::fuzz::expect_named_refusal([&] { kd::read_array_file(path); });
  return 0;
}
