#include <cstdlib>
#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/runtime.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "storage/cache_stage.h"

namespace kd::cli {

namespace {

// "i/n" with 0 <= i < n.
std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  int64_t index = -1, count = 0;
  try {
    std::size_t used_i = 0, used_n = 0;
    if (slash != std::string::npos) {
      index = std::stoll(text.substr(0, slash), &used_i);
      count = std::stoll(text.substr(slash + 1), &used_n);
    }
    if (used_i != slash || used_n != text.size() - slash - 1) count = 0;
  } catch (const std::exception&) {
    count = 0;
  }
  check<ConfigError>(count > 0 && index >= 0 && index < count,
                     "--shard: expected i/n with 0 <= i < n (e.g. 0/4), got '", text, "'");
  return {index, count};
}

}  // namespace

int cache_command(const std::vector<std::string>& args) {
  const CacheOptions d;  // one source of defaults: the options struct
  po::options_description cache("Cache");
  cache.add_options()("teacher", po::value<std::string>()->default_value(""),
                      "teacher directory written by `kdpipe teach` (or its model.pt)")(
      "torchscript", po::value<std::string>()->default_value(""),
      "a TorchScript classifier instead: forward maps [B, C, H, W] images to [B, K] logits")(
      "input", po::value<std::string>()->default_value(d.input()),
      "how images reach the teacher: normalized (per-channel mean/std) or unit ([0, 1])")(
      "split", po::value<std::string>()->default_value(d.split()), "train, val or test")(
      "views", po::value<int64_t>()->default_value(d.views()),
      "views per example: view 0 is the image itself, views 1..V-1 are augmented")(
      "temperatures", po::value<std::vector<double>>()->multitoken()->default_value({1.0}, "1"),
      "temperatures T whose softmax(z/T) is stored beside the logits")(
      "augment", po::value<std::string>()->default_value(to_string(d.augment())),
      "augmentation of views 1..V-1: none, shift or shift-flip")(
      "seed", po::value<std::string>()->default_value(std::to_string(d.seed())),
      "augmentation seed: view v of example i is the draw (seed, v, i)")(
      "half", po::bool_switch(), "store float16 instead of float32")(
      "compress", po::value<int>()->default_value(d.compress()), "gzip level 0-9 (0: none)")(
      "chunk", po::value<int64_t>()->default_value(d.chunk()), "examples per HDF5 chunk")(
      "out", po::value<std::string>(), "the cache file to write (.h5)")(
      "shard", po::value<std::string>()->default_value(""),
      "i/n: write shard i (0 to n-1) of n, whole chunks of the split; kdpipe cache-merge joins "
      "them");
  po::options_description desc;
  desc.add(cache).add(data_options()).add(runtime_options());
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe cache (--teacher DIR | --torchscript FILE) --out FILE.h5 [options]\n\n"
             "Runs a teacher over one split of a dataset, V views per example, and writes its\n"
             "logits (and softmax at each temperature) to an HDF5 cache. An interrupted run\n"
             "resumes from its last complete chunk when run again.",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: a cache file to write is required");
  CacheOptions options;
  options.data(data_options_from(vm))
      .split(vm["split"].as<std::string>())
      .teacher(vm["teacher"].as<std::string>())
      .torchscript(vm["torchscript"].as<std::string>())
      .input(vm["input"].as<std::string>())
      .views(vm["views"].as<int64_t>())
      .temperatures(vm["temperatures"].as<std::vector<double>>())
      .augment(parse_augment(vm["augment"].as<std::string>()))
      .seed(seed_option(vm, "seed"))
      .half(vm["half"].as<bool>())
      .compress(vm["compress"].as<int>())
      .chunk(vm["chunk"].as<int64_t>())
      .workers(thread_count(vm["threads"].as<int>()))
      .device(resolve_device(vm["device"].as<std::string>()))
      .out(vm["out"].as<std::string>());
  if (const std::string shard = vm["shard"].as<std::string>(); !shard.empty()) {
    const auto [index, count] = parse_shard(shard);
    options.shard_index(index).shard_count(count);
  }
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AFTER_CHUNKS")) {
    options.kill_after_chunks(std::atoll(fault));
  }
  options.validate();
  // The engine's workers fill the cores; on CPU each runs single-threaded LibTorch ops.
  configure_threads(options.device().is_cuda() ? options.workers() : 1);
  const CacheSummary s = build_cache(
      options, [](const std::string& line) { std::cerr << "kdpipe cache: " << line << "\n"; });
  std::cout << "cache written to " << options.out().string() << ": " << s.images
            << " images inferred in " << s.seconds << " s ("
            << static_cast<int64_t>(s.images / std::max(s.seconds, 1e-9)) << " images/s)";
  if (s.chunks_resumed > 0) std::cout << ", " << s.chunks_resumed << " chunks resumed";
  std::cout << "\n";
  return 0;
}

}  // namespace kd::cli
