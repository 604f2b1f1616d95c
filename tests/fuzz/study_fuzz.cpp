// Study files (INI): sections, keys, lists, numbers, schedules and model specs; a study that loads
// must also be written back and planned.
#include "pipelines/study/stages.h"
#include "pipelines/study/study.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto path = kd::fuzz::input_file(data, size, "study.ini");
  kd::fuzz::expect_named_refusal([&] {
    const kd::Study study = kd::load_study(path);
    kd::to_ini(study);
    kd::plan_stages(study);
  });
  return 0;
}
