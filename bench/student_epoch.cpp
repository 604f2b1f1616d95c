// One student epoch of the default study's models, two ways, in one run:
//   - from the cache: teacher logits looked up in the cached [V, N, C] tensor (what kdpipe does);
//   - online: the usual distillation loop, the teacher run forward in every step.
// Usage: kd_bench_student_epoch [--data-dir DIR] [--subset N] [--reps R]
#include <chrono>
#include <cstdio>
#include <string>

#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/logit_cache.h"
#include "students/student_training.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  int64_t subset = 5000;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir")
      data_dir = argv[i + 1];
    else if (flag == "--subset")
      subset = std::stoll(argv[i + 1]);
    else if (flag == "--reps")
      reps = std::stoi(argv[i + 1]);
  }
  const kd::DataOptions data_options = kd::DataOptions("fashion-mnist").data_dir(data_dir);
  const kd::Dataset data = kd::load_dataset(data_options);
  const fs::path tmp = fs::temp_directory_path() / ("kdpipe-bench-" + std::to_string(::getpid()));
  // The default study's teacher (untrained: speed does not depend on the weights) and its cache.
  torch::manual_seed(0);
  const kd::Classifier teacher = kd::make_model("mlp:1200-1200", {1, 28, 28}, 10);
  kd::save_model(teacher, kd::model_meta("mlp:1200-1200", kd::dataset_info("fashion-mnist")),
                 tmp / "t" / "model.pt");
  kd::build_cache(
      kd::CacheOptions().data(data_options).teacher(tmp / "t").views(4).out(tmp / "c.h5"),
      [](const std::string&) {});
  const torch::Tensor cached = kd::LogitCache(tmp / "c.h5").logits();
  teacher->eval();
  const kd::ViewRecipe recipe{4, kd::Augment::shift_flip, 0};
  const kd::StudentObjective objective{kd::Baseline::none, 0, 4.0, 1.0, 0};
  const torch::Tensor ids = kd::training_subset(data.train.size(), subset);

  const kd::TeacherLogits from_cache = [&](const torch::Tensor& rows, int64_t view) {
    return cached[view].index_select(0, rows);
  };
  const kd::TeacherLogits online = [&](const torch::Tensor& rows, int64_t view) {
    torch::NoGradGuard no_grad;
    return teacher->forward(kd::view_inputs(data.train, data.info, recipe, rows, view));
  };
  std::printf(
      "student mlp:800-800, teacher mlp:1200-1200, %lld training examples, T=4, best of %d\n",
      static_cast<long long>(ids.numel()), reps);
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    double best[2] = {1e300, 1e300};
    for (int r = 0; r < reps; ++r) {
      int k = 0;
      for (const kd::TeacherLogits& source : {from_cache, online}) {
        torch::manual_seed(1);
        const kd::Classifier student = kd::make_model("mlp:800-800", {1, 28, 28}, 10);
        kd::Progress quiet = kd::Progress::silent();
        const auto t = Clock::now();
        kd::train_student(student, data.train, data.info, ids, recipe, objective, source,
                          kd::TrainOptions().epochs(1).lr(0.05), nullptr, quiet);
        best[k] = std::min(best[k], std::chrono::duration<double>(Clock::now() - t).count());
        ++k;
      }
    }
    std::printf(
        "%d thread(s): epoch from cache %.3f s (%.0f img/s) | online teacher %.3f s (%.0f img/s) | "
        "online / cache = %.2fx\n",
        threads, best[0], ids.numel() / best[0], best[1], ids.numel() / best[1], best[1] / best[0]);
  }
  fs::remove_all(tmp);
  return 0;
}
