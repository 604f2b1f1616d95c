// Cache throughput, measured in one run so the figures can be compared as ratios:
//   - this machine's sgemm rate through LibTorch (1024x1024, 1 and 2 threads);
//   - for each model, images/s of: a plain one-batch-at-a-time loop; the TBB inference engine
//     alone (no HDF5); the whole cache stage (engine + HDF5 writer) — with 1 and 2 threads.
//   With --device cuda (a CUDA LibTorch and a GPU), the same three measurements again on the GPU,
//   with `--cuda-workers` TBB workers each owning a CUDA stream.
// Usage: kd_bench_cache [--data-dir DIR] [--reps R] [--threads 1,2] [--models mlp:1200-1200,cnn:32]
//                       [--device cpu|cuda] [--cuda-workers 1,2,4] [--json FILE]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/sgemm.h"
#include "lib/core/compute.h"
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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::vector<int> int_list(const std::string& text) {
  std::vector<int> values;
  for (const std::string& item : split_list(text)) values.push_back(std::stoi(item));
  return values;
}

struct Setting {
  torch::Device device = torch::kCPU;
  int workers = 1;  ///< CPU: LibTorch threads of the plain loop and TBB workers; CUDA: TBB workers
  std::string key() const { return (device.is_cuda() ? "cuda:" : "") + std::to_string(workers); }
};

struct Timings {
  double plain = 0, engine = 0, cache = 0;  ///< seconds, best of the repetitions
};

// The three ways of running one model over the training split, on one device.
Timings time_model(const kd::Classifier& model, const std::filesystem::path& teacher_dir,
                   const kd::DataOptions& data_options, const kd::Dataset& data,
                   const Setting& setting, int reps, const std::filesystem::path& tmp) {
  const kd::TeacherModel teacher = kd::TeacherModel::from_checkpoint(teacher_dir);
  Timings t;
  // A plain loop: one batch at a time, LibTorch's own intra-op threads, logits back on the CPU.
  torch::set_num_threads(setting.device.is_cuda() ? kd::available_cores() : setting.workers);
  model->to(setting.device);
  t.plain = best_of(reps, [&] {
    torch::NoGradGuard no_grad;
    model->eval();
    for (int64_t s = 0; s < data.train.size(); s += 1024) {
      const torch::Tensor rows =
          torch::arange(s, std::min<int64_t>(s + 1024, data.train.size()), torch::kInt64);
      const torch::Tensor x = kd::make_batch(data.train, data.info, rows, kd::Augment::none, 0, 0);
      model->forward(x.to(setting.device)).to(torch::kCPU);
    }
  });
  model->to(torch::kCPU);
  // The TBB engine alone, results dropped: its workers fill the cores, each with
  // single-threaded LibTorch ops on CPU (as kdpipe cache sets them).
  torch::set_num_threads(setting.device.is_cuda() ? kd::available_cores() : 1);
  t.engine = best_of(reps, [&] {
    kd::run_inference(
        teacher, data.train, data.info,
        kd::InferenceOptions().views(1).workers(setting.workers).device(setting.device),
        [](int64_t, const torch::Tensor&) {});
  });
  // The whole cache stage's inference and writing (data and teacher loading excluded).
  t.cache = 1e300;
  for (int r = 0; r < reps; ++r) {
    const std::filesystem::path file = tmp / "cache.h5";
    std::filesystem::remove(file);
    const kd::CacheSummary s = kd::build_cache(kd::CacheOptions()
                                                   .data(data_options)
                                                   .teacher(teacher_dir)
                                                   .views(1)
                                                   .temperatures({1, 4})
                                                   .workers(setting.workers)
                                                   .device(setting.device)
                                                   .out(file),
                                               [](const std::string&) {});
    t.cache = std::min(t.cache, s.seconds);
  }
  return t;
}

}  // namespace

int run(int argc, char** argv) {
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  fs::path json_path;
  int reps = 2;
  std::vector<int> threads = {1, 2}, cuda_workers = {1, 2, 4};
  std::vector<std::string> models = {"mlp:1200-1200", "cnn:32"};
  bool cuda = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data-dir")
      data_dir = value;
    else if (flag == "--reps")
      reps = std::stoi(value);
    else if (flag == "--json")
      json_path = value;
    else if (flag == "--threads")
      threads = int_list(value);
    else if (flag == "--cuda-workers")
      cuda_workers = int_list(value);
    else if (flag == "--models")
      models = split_list(value);
    else if (flag == "--device")
      cuda = kd::resolve_device(value).is_cuda();
    else {
      std::fprintf(stderr, "kd_bench_cache: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  const kd::DataOptions data_options = kd::DataOptions("fashion-mnist").data_dir(data_dir);
  const kd::Dataset data = kd::load_dataset(data_options);
  const fs::path tmp = fs::temp_directory_path() / ("kdpipe-bench-" + std::to_string(::getpid()));
  fs::create_directories(tmp);

  std::vector<Setting> settings;
  for (int t : threads) settings.push_back({torch::kCPU, t});
  if (cuda)
    for (int w : cuda_workers) settings.push_back({torch::Device(torch::kCUDA, 0), w});

  nlohmann::json out;
  out["machine_cores"] = kd::available_cores();
  out["images"] = data.train.size();
  for (int t : threads) {
    const double rate = kd::bench::sgemm_gflops(t);
    out["sgemm_gflops"][std::to_string(t)] = rate;
    std::printf("sgemm 1024^2 through LibTorch, %d thread(s): %.1f GFLOP/s\n", t, rate);
  }

  for (const std::string& spec : models) {
    torch::manual_seed(0);
    const kd::Classifier model = kd::make_model(spec, {1, 28, 28}, 10);
    const fs::path teacher_dir = tmp / std::to_string(std::hash<std::string>{}(spec));
    kd::save_model(model, kd::model_meta(spec, kd::dataset_info("fashion-mnist")),
                   teacher_dir / "model.pt");
    const double flops = linear_flops(model);
    nlohmann::json& row = out["models"][spec];
    row["linear_mflop_per_image"] = flops / 1e6;
    for (const Setting& setting : settings) {
      const std::string key = setting.key();
      const double n = static_cast<double>(data.train.size());
      const Timings t = time_model(model, teacher_dir, data_options, data, setting, reps, tmp);
      row["plain_loop_images_per_s"][key] = n / t.plain;
      row["engine_images_per_s"][key] = n / t.engine;
      row["cache_images_per_s"][key] = n / t.cache;
      row["writer_overhead"][key] = t.cache / t.engine - 1.0;
      std::printf(
          "%-14s %-7s %s: plain loop %9.0f img/s | engine %9.0f img/s | cache %9.0f img/s "
          "| writing %+.1f%%",
          spec.c_str(), key.c_str(), setting.device.is_cuda() ? "workers" : "threads", n / t.plain,
          n / t.engine, n / t.cache, 100.0 * (t.cache / t.engine - 1.0));
      if (!setting.device.is_cuda() && flops > 0 && spec.rfind("mlp", 0) == 0) {
        const double allowed = out["sgemm_gflops"][key].get<double>() * 1e9 / flops;
        row["sgemm_bound_images_per_s"][key] = allowed;
        row["cache_fraction_of_sgemm_bound"][key] = (n / t.cache) / allowed;
        std::printf(" | cache at %.0f%% of the sgemm bound (%.0f img/s)",
                    100.0 * (n / t.cache) / allowed, allowed);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  fs::remove_all(tmp);
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}

int main(int argc, char** argv) {
  kd::use_fast_blas_kernels(argv);  // as kdpipe runs
  kd::keep_freed_memory();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kd_bench_cache: %s\n", e.what());
    return 1;
  }
}
