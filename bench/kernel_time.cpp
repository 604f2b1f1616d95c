// System time of convolutional work, with glibc's default malloc settings and with kdpipe's
// (`kd::keep_freed_memory`, which every kdpipe command sets at start-up), measured in one run:
//   - teach: a CNN teacher's training steps (smoothed cross-entropy, SGD, shift augmentation),
//     then its evaluation over the same images (as teach evaluates its splits);
//   - cache: a CNN teacher's inference through the cache's TBB engine.
// Each measurement is a fresh process (this program re-run with --child), because malloc's
// settings cannot be undone; user and system time come from its own getrusage. The loss and the
// logits' sum must be identical across settings: the allocator changes speed, never results.
// Environment variables reach the "glibc" children unchanged, so other allocators can be tried
// the same way (LD_PRELOAD=libtbbmalloc_proxy.so.2, MALLOC_ARENA_MAX=1, ...).
// Usage: kd_bench_kernel_time [--data-dir DIR] [--arch cnn:16] [--images 12800] [--threads 1]
//                             [--workers 2] [--reps 2]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/losses/losses.h"
#include "lib/models/zoo.h"
#include "lib/train/evaluate.h"
#include "lib/train/trainer.h"
#include "storage/inference_engine.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  fs::path data_dir = kd::default_data_dir("fashion-mnist");
  std::string arch = "cnn:16";
  int64_t images = 12800;
  int threads = 1, workers = 2, reps = 2;
};

double cpu_seconds(const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; }

// One measurement, in this process: prints {"wall", "user", "sys", "images", "result"}.
int child(const Args& a, const std::string& work, bool tuned) {
  if (tuned) kd::keep_freed_memory();
  const kd::Dataset data = kd::load_dataset(kd::DataOptions("fashion-mnist").data_dir(a.data_dir));
  const int64_t n = std::min(a.images, data.train.size());
  const kd::ImageSet set = data.train.select(torch::arange(n, torch::kInt64));
  torch::manual_seed(0);
  const kd::Classifier model = kd::make_model(a.arch, {1, 28, 28}, 10);
  const fs::path dir = fs::temp_directory_path() / ("kd-kernel-" + std::to_string(::getpid()));
  std::optional<kd::TeacherModel> teacher;
  if (work == "cache") {
    kd::save_model(model, kd::model_meta(a.arch, data.info), dir / "model.pt");
    teacher.emplace(kd::TeacherModel::from_checkpoint(dir));
  }
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = Clock::now();
  double result = 0;
  if (work == "teach") {
    torch::set_num_threads(a.threads);
    kd::Progress quiet = kd::Progress::silent();
    const kd::LossFn loss = [](const torch::Tensor& logits, const kd::Batch& batch) {
      return kd::smoothed_cross_entropy(logits, batch.labels, 0.1);
    };
    const kd::EpochFn record = [&](const kd::EpochStats& s) { result = s.loss; };
    kd::train_model(model, set, data.info,
                    kd::TrainOptions().epochs(1).lr(0.05).augment(kd::Augment::shift), loss, record,
                    quiet);
    result += kd::predict(model, set, data.info, kd::PredictOptions())
                  .logits.to(torch::kFloat64)
                  .sum()
                  .item<double>();
  } else {
    torch::set_num_threads(1);  // as `kdpipe cache` runs its workers
    kd::run_inference(*teacher, set, data.info, kd::InferenceOptions().views(2).workers(a.workers),
                      [&](int64_t, const torch::Tensor& logits) {
                        result += logits.to(torch::kFloat64).sum().item<double>();
                      });
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  ::getrusage(RUSAGE_SELF, &after);
  fs::remove_all(dir);
  const nlohmann::json out = {{"wall", wall},
                              {"user", cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime)},
                              {"sys", cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime)},
                              {"images", 2 * n},  // teach: trained and evaluated; cache: two views
                              {"result", result}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

// Runs this program as a child measurement and returns what it printed.
nlohmann::json measure(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    std::vector<char*> args;
    for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    ::execv("/proc/self/exe", args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) text.append(buf, got);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("a measurement failed: " + text);
  return nlohmann::json::parse(text);
}

}  // namespace

int main(int argc, char** argv) try {
  kd::use_fast_blas_kernels(argv);  // as kdpipe runs
  Args a;
  std::string child_work, child_setting;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data-dir")
      a.data_dir = value;
    else if (flag == "--arch")
      a.arch = value;
    else if (flag == "--images")
      a.images = std::stoll(value);
    else if (flag == "--threads")
      a.threads = std::stoi(value);
    else if (flag == "--workers")
      a.workers = std::stoi(value);
    else if (flag == "--reps")
      a.reps = std::stoi(value);
    else if (flag == "--child")
      child_work = value;
    else if (flag == "--setting")
      child_setting = value;
    else {
      std::fprintf(stderr, "kd_bench_kernel_time: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (!child_work.empty()) return child(a, child_work, child_setting == "kdpipe");

  std::printf("%s, %lld images, teach on %d thread(s), cache with %d worker(s), best of %d\n",
              a.arch.c_str(), static_cast<long long>(a.images), a.threads, a.workers, a.reps);
  std::printf("%-6s %-7s %8s %8s %8s %7s %10s  %s\n", "work", "malloc", "wall s", "user s", "sys s",
              "sys %", "img/s", "result");
  for (const std::string work : {"teach", "cache"}) {
    std::vector<double> results;
    for (const std::string setting : {"glibc", "kdpipe"}) {
      nlohmann::json best;
      for (int r = 0; r < a.reps; ++r) {
        const nlohmann::json m =
            measure({argv[0], "--data-dir", a.data_dir.string(), "--arch", a.arch, "--images",
                     std::to_string(a.images), "--threads", std::to_string(a.threads), "--workers",
                     std::to_string(a.workers), "--child", work, "--setting", setting});
        if (best.is_null() || m["wall"].get<double>() < best["wall"].get<double>()) best = m;
      }
      const double user = best["user"], sys = best["sys"], wall = best["wall"];
      results.push_back(best["result"]);
      std::printf("%-6s %-7s %8.2f %8.2f %8.2f %6.1f%% %10.0f  %.17g\n", work.c_str(),
                  setting.c_str(), wall, user, sys, 100 * sys / (user + sys),
                  best["images"].get<double>() / wall, results.back());
      std::fflush(stdout);
    }
    if (results[0] != results[1]) {
      std::printf("FAIL: %s's result differs between malloc settings\n", work.c_str());
      return 1;
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "kd_bench_kernel_time: %s\n", e.what());
  return 1;
}
