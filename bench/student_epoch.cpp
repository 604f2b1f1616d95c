// One student epoch of the default study's models, two ways, in one run:
//   - from the cache: teacher logits looked up in the cached [V, N, C] tensor (what kdpipe does);
//   - online: the usual distillation loop, the teacher run forward in every step;
// and a small student (mlp:100) from the cache against the sgemm rate measured in the same run.
// Usage: kd_bench_student_epoch [--data-dir DIR] [--subset N] [--reps R] [--small-only 1]
#include <chrono>
#include <cstdio>
#include <string>

#include "bench/sgemm.h"
#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/models/flops.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/logit_cache.h"
#include "students/student_training.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Seconds a batch of 128 spends in mlp:100's matrix products alone (forward: 784→100 and 100→10;
// backward: both weight gradients and the hidden layer's input gradient), best of 200 repeats.
double products_seconds() {
  const torch::Tensor x = torch::randn({128, 784}), w1 = torch::randn({100, 784}),
                      b1 = torch::randn({100}), h = torch::randn({128, 100}),
                      w2 = torch::randn({10, 100}), b2 = torch::randn({10}),
                      g2 = torch::randn({128, 10}), g1 = torch::randn({128, 100});
  double best = 1e300;
  for (int r = 0; r < 200; ++r) {
    const auto t = Clock::now();
    torch::addmm(b1, x, w1.t());
    torch::addmm(b2, h, w2.t());
    g2.t().mm(h);
    g2.mm(w2);
    g1.t().mm(x);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t).count());
  }
  return best;
}

// One epoch of a fresh `arch` student (seed 1), in seconds.
double epoch_seconds(const std::string& arch, const kd::Dataset& data, const torch::Tensor& ids,
                     const kd::ViewRecipe& recipe, const kd::StudentObjective& objective,
                     const kd::TeacherTargets& source) {
  torch::manual_seed(1);
  const kd::Classifier student = kd::make_model(arch, {1, 28, 28}, 10);
  kd::Progress quiet = kd::Progress::silent();
  const auto t = Clock::now();
  kd::train_student(student, data.train, data.info, ids, recipe, objective, source,
                    kd::TrainOptions().epochs(1).lr(0.05), nullptr, quiet);
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  kd::use_fast_blas_kernels(argv);  // as kdpipe runs
  kd::keep_freed_memory();
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  int64_t subset = 5000;
  int reps = 3;
  bool small_only = false;  // only the mlp:100 case (for profiling)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir")
      data_dir = argv[i + 1];
    else if (flag == "--subset")
      subset = std::stoll(argv[i + 1]);
    else if (flag == "--reps")
      reps = std::stoi(argv[i + 1]);
    else if (flag == "--small-only")
      small_only = std::string(argv[i + 1]) == "1";
  }
  const kd::DataOptions data_options = kd::DataOptions("fashion-mnist").data_dir(data_dir);
  const kd::Dataset data = kd::load_dataset(data_options);
  const fs::path tmp = fs::temp_directory_path() / ("kdpipe-bench-" + std::to_string(::getpid()));
  // The default study's teacher (untrained: speed does not depend on the weights) and its cache.
  torch::manual_seed(0);
  const kd::Classifier teacher = kd::make_model("mlp:1200-1200", {1, 28, 28}, 10);
  kd::save_model(teacher, kd::model_meta("mlp:1200-1200", kd::dataset_info("fashion-mnist")),
                 tmp / "t" / "model.pt");
  // --small-only (for profiling) draws the logits instead: speed does not depend on them.
  if (!small_only) {
    kd::build_cache(
        kd::CacheOptions().data(data_options).teacher(tmp / "t").views(4).out(tmp / "c.h5"),
        [](const std::string&) {});
  }
  const torch::Tensor cached =
      small_only ? torch::randn({4, data.train.size(), 10}) : kd::LogitCache(tmp / "c.h5").logits();
  teacher->eval();
  const kd::ViewRecipe recipe{4, kd::Augment::shift_flip, 0};
  const kd::StudentObjective objective{kd::Baseline::none, 0, 4.0, 1.0, 0};
  const torch::Tensor ids = kd::training_subset(data.train.size(), subset);

  const kd::SoftTargets targets = kd::SoftTargets::of_logits(cached, objective.temperature);
  const kd::TeacherTargets from_cache = [&](const torch::Tensor& rows, int64_t view) {
    return targets.rows(view, rows);
  };
  const kd::TeacherTargets online = [&](const torch::Tensor& rows, int64_t view) {
    torch::NoGradGuard no_grad;
    return torch::softmax(
        teacher->forward(kd::view_inputs(data.train, data.info, recipe, rows, view)) /
            objective.temperature,
        1);
  };
  const double sgemm[3] = {0, kd::bench::sgemm_gflops(1), kd::bench::sgemm_gflops(2)};
  std::printf("sgemm 1024^2 through LibTorch: %.1f GFLOP/s at 1 thread, %.1f at 2\n", sgemm[1],
              sgemm[2]);
  std::printf(
      "student mlp:800-800, teacher mlp:1200-1200, %lld training examples, T=4, best of %d\n",
      static_cast<long long>(ids.numel()), reps);
  for (int threads : {1, 2}) {
    if (small_only) break;
    torch::set_num_threads(threads);
    double best[2] = {1e300, 1e300};
    for (int r = 0; r < reps; ++r) {
      int k = 0;
      for (const kd::TeacherTargets& source : {from_cache, online}) {
        best[k] =
            std::min(best[k], epoch_seconds("mlp:800-800", data, ids, recipe, objective, source));
        ++k;
      }
    }
    std::printf(
        "%d thread(s): epoch from cache %.3f s (%.0f img/s) | online teacher %.3f s (%.0f img/s) | "
        "online / cache = %.2fx\n",
        threads, best[0], ids.numel() / best[0], best[1], ids.numel() / best[1], best[1] / best[0]);
  }
  // A small student from the cache, over the whole training split: its matrix products are
  // small, so per-step costs show. The bound is the sgemm rate over 3 forward passes an image.
  const torch::Tensor all = torch::arange(data.train.size(), torch::kInt64);
  const double flops =
      3 * kd::forward_flops(kd::make_model("mlp:100", {1, 28, 28}, 10), {1, 28, 28});
  std::printf(
      "student mlp:100 from the cache, %lld training examples, %.2f MFLOP a trained image\n",
      static_cast<long long>(all.numel()), flops / 1e6);
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    double best = 1e300;
    for (int r = 0; r < reps; ++r)
      best = std::min(best, epoch_seconds("mlp:100", data, all, recipe, objective, from_cache));
    const double rate = all.numel() / best, bound = sgemm[threads] * 1e9 / flops;
    // What the same products reach at this batch size: the bound for any implementation that
    // keeps the batch of 128 and calls this BLAS.
    const double products = 128 / products_seconds();
    std::printf(
        "%d thread(s): epoch from cache %.3f s (%.0f img/s), %.0f%% of the sgemm bound (%.0f "
        "img/s); the step's matrix products alone: %.0f img/s (%.0f%% of the bound), the epoch "
        "runs at %.0f%% of that\n",
        threads, best, rate, 100 * rate / bound, bound, products, 100 * products / bound,
        100 * rate / products);
  }
  fs::remove_all(tmp);
  return 0;
}
