// Logit caches (HDF5): the header attributes on open, then every dataset as a reader reads it.
#include "storage/logit_cache.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "cache.h5");
  kd::fuzz::expect_named_refusal([&] {
    const kd::LogitCache cache(path);
    cache.labels();
    if (cache.header().top_k == 0) cache.logits();  // a top-k cache has none, and says so
    for (double t : cache.header().temperatures) cache.probs(t);
    cache.verify();
    // What a student reads: whole rows, or top-k rows checked and rebuilt.
    for (double t : cache.header().temperatures) {
      const kd::SoftTargets targets = cache.targets(t);
      if (cache.header().n > 0) targets.rows(0, torch::zeros({1}, torch::kInt64));
    }
  });
  return 0;
}
