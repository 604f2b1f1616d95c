// Logit caches (HDF5): the header attributes on open, then every dataset as a reader reads it.
#include "storage/logit_cache.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "cache.h5");
  kd::fuzz::expect_named_refusal([&] {
    const kd::LogitCache cache(path);
    cache.labels();
    cache.logits();
    for (double t : cache.header().temperatures) cache.probs(t);
    cache.verify();
  });
  return 0;
}
