// The JSON a report reads back from a run directory: the manifest and each stage's metrics.json.
#include "pipelines/report/results_reader.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "metrics.json");
  kd::fuzz::expect_named_refusal([&] { kd::read_manifest(path); });
  kd::fuzz::expect_named_refusal([&] { kd::read_teacher_metrics(path, "teach/eps=0.1"); });
  kd::fuzz::expect_named_refusal([&] { kd::read_student_metrics(path, "distill/mlp"); });
  return 0;
}
