#include "lib/core/work_ledger.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/models/export.h"
#include "lib/models/flops.h"
#include "lib/models/zoo.h"

namespace kd {
namespace {

// A clock the test moves by hand: the phases' times are exact.
std::chrono::steady_clock::time_point fake_now = std::chrono::steady_clock::time_point{};
std::chrono::steady_clock::time_point fake_clock() { return fake_now; }
void advance(double seconds) {
  fake_now += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

// Time goes to the innermost open phase; the outer one resumes after it, and time outside every
// phase is left out (the record's "other").
TEST(WorkLedger, TheInnermostPhaseGetsTheTime) {
  fake_now = std::chrono::steady_clock::now();
  set_work_clock_for_testing(&fake_clock);
  const WorkRecord before = work_so_far();
  {
    const PhaseScope train(Phase::train);
    advance(0.05);
    {
      const PhaseScope evaluate(Phase::evaluate);
      advance(0.1);
    }
    advance(0.05);
  }
  advance(0.05);
  const WorkRecord after = work_so_far();
  set_work_clock_for_testing(nullptr);
  const auto spent = [&](Phase p) {
    return after.phase[static_cast<int>(p)] - before.phase[static_cast<int>(p)];
  };
  EXPECT_NEAR(spent(Phase::train), 0.1, 1e-9);
  EXPECT_NEAR(spent(Phase::evaluate), 0.1, 1e-9);
  EXPECT_EQ(spent(Phase::load), 0);
  EXPECT_NEAR(after.seconds - before.seconds, 0.25, 1e-9);
}

TEST(WorkLedger, TrainedImagesCountThreeForwardPasses) {
  const WorkRecord before = work_so_far();
  record_forward(1000, 10, true);
  record_forward(1000, 5, false);
  const WorkRecord after = work_so_far();
  EXPECT_EQ(after.trained_images - before.trained_images, 10);
  EXPECT_EQ(after.evaluated_images - before.evaluated_images, 5);
  EXPECT_DOUBLE_EQ(after.flops - before.flops, 35000);
}

// FLOPs are counted from the operators LibTorch runs: 2·in·out per linear layer, 2 per
// multiply-add of each convolution (here 3x3 convolutions at 28², 14² and 7² pixels).
TEST(Flops, CountedFromTheProductsLibTorchRuns) {
  const InputShape input{1, 28, 28};
  EXPECT_DOUBLE_EQ(forward_flops(make_model("mlp:100", input, 10), input),
                   2.0 * (784 * 100 + 100 * 10));
  EXPECT_DOUBLE_EQ(forward_flops(make_model("mlp:30-20", input, 10), input),
                   2.0 * (784 * 30 + 30 * 20 + 20 * 10));
  const double cnn =
      2.0 * (28 * 28 * 8 * 1 * 9 + 14 * 14 * 16 * 8 * 9 + 7 * 7 * 32 * 16 * 9) + 2.0 * 32 * 10;
  const Classifier model = make_model("cnn:8", input, 10);
  model->train();
  EXPECT_DOUBLE_EQ(forward_flops(model, input), cnn);
  EXPECT_TRUE(model->is_training()) << "the model's mode is restored";
}

// A TorchScript model runs through the same dispatcher: its count equals the C++ model's.
TEST(Flops, ATorchScriptModelCountsAsItsSource) {
  const InputShape input{3, 32, 32};
  LoadedModel m;
  m.model = make_model("resnet:14", input, 10);
  m.meta = model_meta("resnet:14", dataset_info("cifar10"));
  torch::jit::Module module = to_torchscript(m);
  const torch::Tensor x = torch::zeros({1, 3, 32, 32});
  const double scripted =
      forward_flops([&](const torch::Tensor& t) { return module.forward({t}).toTensor(); }, x);
  EXPECT_GT(scripted, 1e7);
  EXPECT_DOUBLE_EQ(scripted, forward_flops(m.model, input));
}

// After keep_freed_memory, a 48 MB block comes from the heap (and stays there when freed)
// instead of being mapped and unmapped on every allocation. Checked in a child: malloc's
// settings are process-wide.
TEST(Runtime, FreedMemoryIsKeptForTheNextAllocation) {
  for (const bool keep : {false, true}) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (keep) keep_freed_memory();
      char* volatile block = static_cast<char*>(std::malloc(48 << 20));
      block[0] = 1;  // used, so that the compiler keeps the allocation
      const bool mapped = mallinfo2().hblkhd >= (48 << 20);
      std::free(block);
      ::_exit(mapped ? 1 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), keep ? 0 : 1) << (keep ? "kept" : "glibc's default");
  }
}

}  // namespace
}  // namespace kd
