// Cache throughput, measured in one run so the figures can be compared as ratios:
//   - this machine's sgemm rate through LibTorch (1024x1024, 1 and 2 threads);
//   - for each model, images/s of: a plain one-batch-at-a-time loop; the TBB inference engine
//     alone (no HDF5); the whole cache stage (engine + HDF5 writer) — with 1 and 2 threads.
// Usage: kd_bench_cache [--data-dir DIR] [--reps R] [--json FILE]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "storage/cache_stage.h"
#include "storage/inference_engine.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Best of `reps` timings of f (seconds).
template <typename F>
double best_of(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t = Clock::now();
    f();
    best = std::min(best, seconds_since(t));
  }
  return best;
}

double sgemm_gflops(int threads) {
  torch::set_num_threads(threads);
  const torch::Tensor a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  torch::Tensor c = torch::mm(a, b);
  int64_t iters = 0;
  const auto t = Clock::now();
  while (seconds_since(t) < 1.5) {
    c = torch::mm(a, b);
    ++iters;
  }
  return 2.0 * 1024 * 1024 * 1024 * iters / seconds_since(t) / 1e9;
}

// FLOPs of one forward pass counted over the model's linear layers (2 · in · out each).
double linear_flops(const kd::Classifier& model) {
  double flops = 0;
  for (const auto& m : model->modules(/*include_self=*/false)) {
    if (const auto* linear = m->as<torch::nn::LinearImpl>()) {
      flops += 2.0 * linear->options.in_features() * linear->options.out_features();
    }
  }
  return flops;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  fs::path json_path;
  int reps = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir")
      data_dir = argv[i + 1];
    else if (flag == "--reps")
      reps = std::stoi(argv[i + 1]);
    else if (flag == "--json")
      json_path = argv[i + 1];
  }
  const kd::DataOptions data_options = kd::DataOptions("fashion-mnist").data_dir(data_dir);
  const kd::Dataset data = kd::load_dataset(data_options);
  const fs::path tmp = fs::temp_directory_path() / ("kdpipe-bench-" + std::to_string(::getpid()));
  fs::create_directories(tmp);

  nlohmann::json out;
  out["machine_cores"] = kd::available_cores();
  out["images"] = data.train.size();
  for (int t : {1, 2}) out["sgemm_gflops"][std::to_string(t)] = sgemm_gflops(t);
  std::printf("sgemm 1024^2 through LibTorch: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (2 threads)\n",
              out["sgemm_gflops"]["1"].get<double>(), out["sgemm_gflops"]["2"].get<double>());

  for (const std::string spec : {"mlp:1200-1200", "cnn:32"}) {
    torch::manual_seed(0);
    const kd::Classifier model = kd::make_model(spec, {1, 28, 28}, 10);
    const fs::path teacher_dir = tmp / spec.substr(0, 3);
    kd::save_model(model, {spec, {1, 28, 28}, 10, "fashion-mnist"}, teacher_dir / "model.pt");
    const kd::TeacherModel teacher = kd::TeacherModel::from_checkpoint(teacher_dir);
    const double flops = linear_flops(model);
    nlohmann::json& row = out["models"][spec];
    row["linear_mflop_per_image"] = flops / 1e6;
    for (int threads : {1, 2}) {
      const std::string key = std::to_string(threads);
      const double n = static_cast<double>(data.train.size());
      // A plain loop: one batch at a time, LibTorch's own intra-op threads.
      torch::set_num_threads(threads);
      const double plain = best_of(reps, [&] {
        torch::NoGradGuard no_grad;
        model->eval();
        for (int64_t s = 0; s < data.train.size(); s += 1024) {
          const torch::Tensor rows =
              torch::arange(s, std::min<int64_t>(s + 1024, data.train.size()), torch::kInt64);
          model->forward(kd::make_batch(data.train, data.info, rows, kd::Augment::none, 0, 0));
        }
      });
      // The TBB engine alone, results dropped.
      const double engine = best_of(reps, [&] {
        kd::run_inference(teacher, data.train, data.info,
                          kd::InferenceOptions().views(1).workers(threads),
                          [](int64_t, const torch::Tensor&) {});
      });
      // The whole cache stage's inference and writing (data and teacher loading excluded).
      double cache = 1e300;
      for (int r = 0; r < reps; ++r) {
        const fs::path file = tmp / "cache.h5";
        fs::remove(file);
        const kd::CacheSummary s = kd::build_cache(kd::CacheOptions()
                                                       .data(data_options)
                                                       .teacher(teacher_dir)
                                                       .views(1)
                                                       .temperatures({1, 4})
                                                       .workers(threads)
                                                       .out(file),
                                                   [](const std::string&) {});
        cache = std::min(cache, s.seconds);
      }
      row["plain_loop_images_per_s"][key] = n / plain;
      row["engine_images_per_s"][key] = n / engine;
      row["cache_images_per_s"][key] = n / cache;
      row["writer_overhead"][key] = cache / engine - 1.0;
      if (spec.rfind("mlp", 0) == 0) {
        const double allowed = out["sgemm_gflops"][key].get<double>() * 1e9 / flops;
        row["sgemm_bound_images_per_s"][key] = allowed;
        row["cache_fraction_of_sgemm_bound"][key] = (n / cache) / allowed;
      }
      std::printf(
          "%-14s %d thread(s): plain loop %8.0f img/s | engine %8.0f img/s | cache %8.0f "
          "img/s | writing +%.1f%%",
          spec.c_str(), threads, n / plain, n / engine, n / cache, 100.0 * (cache / engine - 1.0));
      if (row.contains("cache_fraction_of_sgemm_bound")) {
        std::printf(" | cache at %.0f%% of the sgemm bound (%.0f img/s)",
                    100.0 * row["cache_fraction_of_sgemm_bound"][key].get<double>(),
                    row["sgemm_bound_images_per_s"][key].get<double>());
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  fs::remove_all(tmp);
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
