// What a checkpoint after every epoch costs (lib/train/checkpoint.h): the time to write one for
// the default study's teacher (mlp:1200-1200) and student (mlp:800-800), against one training
// epoch of each as the study trains them (teacher: the 55,000 training images; student: its 5,000
// examples), all measured in this run. Usage: kd_bench_checkpoint [--data-dir DIR] [--reps R]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/models/zoo.h"
#include "lib/train/checkpoint.h"
#include "lib/train/trainer.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Cost {
  double epoch = 0, save = 0;
  std::uintmax_t bytes = 0;
};

// One epoch of `arch` on the first `n` training images, then the median time of `reps`
// checkpoints of the trained state (momentum included) written to `dir`.
Cost measure(const std::string& arch, const kd::Dataset& data, int64_t n, int reps,
             const fs::path& dir) {
  torch::manual_seed(1);
  const kd::Classifier model = kd::make_model(arch, data.info.input(), data.info.classes);
  const kd::ImageSet train = data.train.select(torch::arange(n));
  std::vector<kd::EpochRecord> records;
  kd::Progress quiet = kd::Progress::silent();
  const kd::LossFn loss = [](const torch::Tensor& logits, const kd::Batch& batch) {
    return torch::nn::functional::cross_entropy(logits, batch.labels);
  };
  Cost c;
  const auto t = Clock::now();
  kd::train_model(model, train, data.info, kd::TrainOptions().epochs(1), loss, nullptr, quiet);
  c.epoch = since(t);
  kd::TrainingState state;
  state.epochs_done = 1;
  state.epochs = 2;
  state.parameters = model->parameters();
  state.buffers = model->buffers();
  for (const torch::Tensor& p : state.parameters) state.momentum.push_back(torch::zeros_like(p));
  state.rng = torch::zeros({5056}, torch::kUInt8);
  std::vector<double> saves;
  for (int r = 0; r < reps; ++r) {
    const auto s = Clock::now();
    kd::save_checkpoint(dir, "bench", state);
    saves.push_back(since(s));
  }
  std::sort(saves.begin(), saves.end());
  c.save = saves[saves.size() / 2];
  c.bytes = fs::file_size(kd::checkpoint_file(dir));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  kd::use_fast_blas_kernels(argv);  // as kdpipe runs
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir") data_dir = argv[i + 1];
    if (flag == "--reps") reps = std::stoi(argv[i + 1]);
  }
  torch::set_num_threads(1);  // as each of the default study's 2 jobs runs
  const kd::Dataset data =
      kd::load_dataset(kd::DataOptions("fashion-mnist").data_dir(data_dir).val_size(5000));
  const fs::path dir = fs::temp_directory_path() / ("kdpipe-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::printf("%-14s %10s %10s %10s %8s\n", "model", "epoch s", "save s", "MB", "save/epoch");
  for (const auto& [arch, n] : {std::pair<std::string, int64_t>{"mlp:1200-1200", 55000},
                               std::pair<std::string, int64_t>{"mlp:800-800", 5000}}) {
    const Cost c = measure(arch, data, n, reps, dir);
    std::printf("%-14s %10.3f %10.4f %10.1f %7.2f%%\n", arch.c_str(), c.epoch, c.save,
                static_cast<double>(c.bytes) / 1e6, 100 * c.save / c.epoch);
  }
  fs::remove_all(dir);
  std::printf("(%s; one thread; save: median of %d)\n", kd::blas_kernels().c_str(), reps);
  return 0;
}
