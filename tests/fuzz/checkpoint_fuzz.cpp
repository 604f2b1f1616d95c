// Model checkpoints (LibTorch archives with kdpipe's meta): the archive, the meta and the weights.
#include "lib/models/zoo.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "model.pt");
  kd::fuzz::expect_named_refusal([&] { kd::load_model(path); });
  return 0;
}
