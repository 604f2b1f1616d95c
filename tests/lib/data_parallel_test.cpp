// Data-parallel pieces in one process: two Gloo ranks on two threads sum gradients (overlapped
// with the backward pass or after it) to exactly what one process computes on the whole batch;
// the rendezvous is read from each launcher's environment.
#include "lib/dist/data_parallel.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "lib/dist/gloo_communicator.h"
#include "lib/dist/local_ranks.h"
#include "lib/dist/rendezvous.h"
#include "lib/models/zoo.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

// Runs body(rank's communicator) on two ranks, each on its own thread.
template <typename Body>
void on_two_ranks(const std::filesystem::path& store, Body body) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(2);
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        Rendezvous at;
        at.rank = r, at.size = 2, at.store = "file:" + store.string(), at.launcher = "test";
        const auto ranks = connect_gloo(at, std::chrono::seconds(20));
        body(*ranks);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// A module that uses one layer twice (autograd sums both uses before the parameter's hook), and
// one with a layer it never uses (its gradient never arrives).
struct TiedImpl : torch::nn::Module {
  TiedImpl() : layer(register_module("layer", torch::nn::Linear(6, 6))) {}
  torch::Tensor forward(const torch::Tensor& x) { return layer(torch::tanh(layer(x))); }
  torch::nn::Linear layer;
};
TORCH_MODULE(Tied);
struct UnusedImpl : torch::nn::Module {
  UnusedImpl()
      : used(register_module("used", torch::nn::Linear(6, 6))),
        unused(register_module("unused", torch::nn::Linear(6, 6))) {}
  torch::Tensor forward(const torch::Tensor& x) { return used(x); }
  torch::nn::Linear used, unused;
};
TORCH_MODULE(Unused);

// The gradients of `params` for `loss_of(rows)` over each rank's half, summed by GradientSum,
// against one process's gradient of the mean over all rows, for a few steps.
template <typename Model>
void expect_summed_gradients_equal_whole_batch(Model make, bool expect_overlap) {
  const testing::TempDir dir;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 8, 6}), y = torch::randn({4, 8, 6});
  std::vector<std::vector<torch::Tensor>> grads(2);
  // Every model starts from these weights (the threads' draws would race for the generator).
  std::vector<torch::Tensor> initial;
  for (const auto& p : make()->parameters()) initial.push_back(p.detach().clone());
  const auto start_from_initial = [&](auto& model) {
    torch::NoGradGuard no_grad;
    const auto params = model->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
  };
  // A parameter no step used has no gradient in one process; the ranks' sum of it is zero.
  const auto grad_of = [](const torch::Tensor& p) {
    return p.grad().defined() ? p.grad() : torch::zeros_like(p);
  };
  on_two_ranks(dir / "store", [&](Communicator& ranks) {
    auto model = make();
    start_from_initial(model);
    GradientSum sum(ranks, model->parameters(), /*bucket_elements=*/20);
    for (int64_t step = 0; step < 4; ++step) {
      for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
      const auto half = torch::indexing::Slice(ranks.rank() * 4, ranks.rank() * 4 + 4);
      const torch::Tensor loss =
          (model->forward(x[step].index({half})) - y[step].index({half})).pow(2).mean();
      (loss * 0.5).backward();
      sum.finish();
      if (step > 0) EXPECT_EQ(sum.overlapping(), expect_overlap);
      torch::NoGradGuard no_grad;
      // The same step as one process would take, so that both sides stay in step.
      for (auto& p : model->parameters()) p.sub_(0.1 * grad_of(p));
      if (ranks.rank() == 0)
        for (auto& p : model->parameters()) grads[0].push_back(grad_of(p).clone());
    }
  });
  auto model = make();
  start_from_initial(model);
  for (int64_t step = 0; step < 4; ++step) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    (model->forward(x[step]) - y[step]).pow(2).mean().backward();
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.sub_(0.1 * grad_of(p));
    for (auto& p : model->parameters()) grads[1].push_back(grad_of(p).clone());
  }
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (std::size_t i = 0; i < grads[0].size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-5, 1e-6)) << "gradient " << i;
}

TEST(DataParallel, OverlappedBucketSumsEqualOneProcessOnTheWholeBatch) {
  expect_summed_gradients_equal_whole_batch(
      [] {
        return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(),
                                     torch::nn::Linear(5, 4), torch::nn::Tanh(),
                                     torch::nn::Linear(4, 6));
      },
      true);
}

TEST(DataParallel, AParameterUsedTwiceArrivesOnceAndOverlaps) {
  expect_summed_gradients_equal_whole_batch([] { return Tied(); }, true);
}

TEST(DataParallel, AFrozenParameterIsLeftOut) {
  expect_summed_gradients_equal_whole_batch(
      [] {
        torch::nn::Sequential m(torch::nn::Linear(6, 5), torch::nn::Tanh(),
                                torch::nn::Linear(5, 6));
        m->parameters()[0].requires_grad_(false);  // the first layer's weight
        return m;
      },
      true);
}

TEST(DataParallel, AParameterNeverUsedIsSummedAfterBackward) {
  expect_summed_gradients_equal_whole_batch([] { return Unused(); }, false);
}

TEST(DataParallel, BroadcastAndAverageMakeTheRanksAgree) {
  const testing::TempDir dir;
  std::vector<torch::Tensor> got(2);
  on_two_ranks(dir / "store", [&](Communicator& ranks) {
    const torch::Tensor w = torch::full({3}, ranks.rank() + 1.0);
    const torch::Tensor stat = torch::full({2}, ranks.rank() * 4.0);
    const torch::Tensor count = torch::full({1}, 7 + ranks.rank(), torch::kInt64);
    broadcast_tensors(ranks, {w}, 0);
    average_floating(ranks, {stat, count});
    EXPECT_TRUE(w.equal(torch::full({3}, 1.0)));
    EXPECT_TRUE(stat.equal(torch::full({2}, 2.0)));
    EXPECT_EQ(count.item<int64_t>(), 7 + ranks.rank());  // integers are not averaged
  });
}

TEST(Rendezvous, FirstHostOfASlurmNodeList) {
  EXPECT_EQ(first_slurm_host("node07"), "node07");
  EXPECT_EQ(first_slurm_host("n[07-09,12],m1"), "n07");
  EXPECT_EQ(first_slurm_host("a1,b[1-2]"), "a1");
  EXPECT_EQ(first_slurm_host("gpu[3,5]"), "gpu3");
  EXPECT_EQ(slurm_port(123, 0), slurm_port(123, 0));
  EXPECT_NE(slurm_port(123, 0), slurm_port(123, 1));
  EXPECT_GE(slurm_port(999999, 7), 20000);
  EXPECT_LT(slurm_port(999999, 7), 60000);
}

// Sets environment variables for one test and removes them after.
class Environment {
 public:
  explicit Environment(std::vector<std::pair<std::string, std::string>> vars)
      : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~Environment() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST(Rendezvous, ReadFromEachLaunchersEnvironment) {
  EXPECT_FALSE(rendezvous_from_environment(1).has_value());
  {
    const Environment slurm({{"SLURM_STEP_ID", "0"},
                             {"SLURM_PROCID", "1"},
                             {"SLURM_LOCALID", "1"},
                             {"SLURM_STEP_NUM_TASKS", "2"},
                             {"SLURM_STEP_TASKS_PER_NODE", "2"},
                             {"SLURM_STEP_NODELIST", "c[4-5]"},
                             {"SLURM_JOB_ID", "42"}});
    const auto at = rendezvous_from_environment(2);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(at->launcher, "slurm");
    EXPECT_EQ(at->rank, 1);
    EXPECT_EQ(at->local_size, 2);
    EXPECT_EQ(at->store, "tcp:c4:" + std::to_string(slurm_port(42, 0)));
    EXPECT_THROW(rendezvous_from_environment(4), ConfigError);  // a step of 2 tasks, --ranks 4
  }
  {
    const Environment one_task(
        {{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "1"}});
    EXPECT_FALSE(rendezvous_from_environment(2).has_value());  // kdpipe starts the ranks itself
  }
  {
    const Environment torchrun({{"RANK", "3"},
                                {"WORLD_SIZE", "4"},
                                {"LOCAL_RANK", "1"},
                                {"LOCAL_WORLD_SIZE", "2"},
                                {"MASTER_ADDR", "10.0.0.1"},
                                {"MASTER_PORT", "29500"},
                                {"GLOO_SOCKET_IFNAME", "ib0"}});
    const auto at = rendezvous_from_environment(4);
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(at->launcher, "torchrun");
    EXPECT_EQ(at->rank, 3);
    EXPECT_EQ(at->store, "tcp:10.0.0.1:29500");
    EXPECT_EQ(at->interface, "ib0");
  }
}

TEST(LocalRanks, LastLogLineSkipsBlankLines) {
  const testing::TempDir dir;
  std::ofstream(dir / "log") << "first\nsecond line\n\n  \n";
  EXPECT_EQ(last_log_line(dir / "log"), "second line");
  EXPECT_EQ(last_log_line(dir / "missing"), "");
}

}  // namespace
}  // namespace kd
