// What training on two local ranks gains and costs (lib/dist), for the default study's teacher
// (mlp:1200-1200) or any model spec: one process of 2 threads against 2 ranks of 1 thread each,
// global batch 128 of random 28×28 images (compute only: no data loading), all measured in this
// run. Per step: the time and images/s of each; with ranks, the wait for gradient sums left after
// the backward pass (what overlapping did not hide), and what one sum of every gradient costs on
// its own. Usage: kd_bench_ranks [--arch A] [--steps S] [--image C,H,W (default 1,28,28)]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "lib/core/runtime.h"
#include "lib/dist/data_parallel.h"
#include "lib/dist/gloo_communicator.h"
#include "lib/dist/local_ranks.h"
#include "lib/dist/rendezvous.h"
#include "lib/models/zoo.h"
#include "lib/train/sgd.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kBatch = 128;
kd::InputShape kImage{1, 28, 28};  // --image C,H,W

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Steps {
  double seconds = 0, waited = 0;  // per step
};

// `steps` SGD steps (after 5 to warm up) on this rank's share of a batch of kBatch (a share of
// `size` without ranks: one rank's compute, alone on the machine).
Steps train(const std::string& arch, int steps, kd::Communicator* ranks, int size = 1) {
  if (ranks) size = ranks->size();
  torch::manual_seed(1);
  const kd::Classifier model = kd::make_model(arch, kImage, 10);
  model->train();
  if (ranks) kd::broadcast_tensors(*ranks, model->parameters(), 0);
  kd::Sgd sgd(model->parameters(), {0.9, 0, 5e-4, true});
  std::optional<kd::GradientSum> sum;
  if (ranks) sum.emplace(*ranks, model->parameters());
  const torch::Tensor x =
      torch::randn({kBatch / size, kImage.channels, kImage.height, kImage.width});
  const torch::Tensor y = torch::randint(10, {kBatch / size}, torch::kInt64);
  Steps s;
  Clock::time_point start;
  double waited_before = 0;
  for (int i = 0; i < steps + 5; ++i) {
    if (i == 5) {
      start = Clock::now();
      waited_before = sum ? sum->waited_seconds() : 0;
    }
    sgd.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    (loss * (1.0 / size)).backward();
    if (sum) sum->finish();
    sgd.step(0.01);
  }
  s.seconds = since(start) / steps;
  if (sum) s.waited = (sum->waited_seconds() - waited_before) / steps;
  return s;
}

// One sum of a tensor the size of every parameter, timed alone (median of `reps`).
double sum_alone(const std::string& arch, kd::Communicator& ranks, int reps) {
  int64_t n = 0;
  for (const auto& p : kd::make_model(arch, kImage, 10)->parameters()) n += p.numel();
  const torch::Tensor flat = torch::ones({n});
  std::vector<double> times;
  for (int r = 0; r < reps + 2; ++r) {
    const auto t = Clock::now();
    ranks.sum(flat);
    if (r >= 2) times.push_back(since(t));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  // As kdpipe itself starts: the BLAS kernels for this CPU, freed memory kept for reuse.
  kd::use_fast_blas_kernels(argv);
  kd::keep_freed_memory();
  std::string arch = "mlp:1200-1200";
  int steps = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--arch") arch = argv[i + 1];
    if (flag == "--steps") steps = std::atoi(argv[i + 1]);
    if (flag == "--image") {
      long long c = 1, h = 28, w = 28;
      std::sscanf(argv[i + 1], "%lld,%lld,%lld", &c, &h, &w);
      kImage = {c, h, w};
    }
  }
  if (const auto at = kd::rendezvous_from_environment(2)) {  // one of the two ranks
    torch::set_num_threads(1);
    const auto ranks = kd::connect_gloo(*at, std::chrono::seconds(120));
    // Both ranks computing at once without communicating: what sharing the machine costs.
    const torch::Tensor together = torch::zeros({1});
    ranks->sum(together);
    const Steps beside = train(arch, steps, nullptr, 2);
    ranks->sum(together);
    const Steps s = train(arch, steps, ranks.get());
    const double alone = sum_alone(arch, *ranks, 20);
    if (ranks->rank() == 0) {
      std::printf("half a batch on 1 thread, beside the other rank, no sums: %7.2f ms a step\n",
                  1e3 * beside.seconds);
      std::printf(
          "2 ranks x 1 thread : %7.2f ms a step, %7.0f images/s; waited for sums %.2f ms "
          "a step (%.1f%%); one sum of every gradient alone %.2f ms (%.1f%% of a step)\n",
          1e3 * s.seconds, kBatch / s.seconds, 1e3 * s.waited, 100 * s.waited / s.seconds,
          1e3 * alone, 100 * alone / s.seconds);
    }
    return 0;
  }
  torch::set_num_threads(2);
  const Steps one = train(arch, steps, nullptr);
  int64_t parameters = 0;
  for (const auto& p : kd::make_model(arch, kImage, 10)->parameters()) parameters += p.numel();
  std::printf(
      "%s on %lldx%lldx%lld images (%lld parameters, %.2f MB of gradients), global batch "
      "%lld, BLAS %s\n",
      arch.c_str(), static_cast<long long>(kImage.channels), static_cast<long long>(kImage.height),
      static_cast<long long>(kImage.width), static_cast<long long>(parameters), 4e-6 * parameters,
      static_cast<long long>(kBatch), kd::blas_kernels().c_str());
  std::printf("1 rank  x 2 threads: %7.2f ms a step, %7.0f images/s\n", 1e3 * one.seconds,
              kBatch / one.seconds);
  torch::set_num_threads(1);
  const Steps alone = train(arch, steps, nullptr, 2);
  std::printf("half a batch on 1 thread, alone: %7.2f ms a step (what each rank computes)\n",
              1e3 * alone.seconds);
  std::fflush(stdout);
  const fs::path logs =
      fs::temp_directory_path() / ("kd_bench_ranks." + std::to_string(::getpid()));
  fs::create_directories(logs);
  kd::LocalRanks launch;
  launch.argv.assign(argv, argv + argc);
  launch.argv[0] = fs::read_symlink("/proc/self/exe").string();
  launch.ranks = 2;
  launch.logs = {logs / "rank-0.log", logs / "rank-1.log"};
  const kd::RanksOutcome outcome = kd::run_local_ranks(launch);
  if (outcome.status != 0) std::fprintf(stderr, "%s\n", outcome.failure.c_str());
  fs::remove_all(logs);
  return 0;
}
