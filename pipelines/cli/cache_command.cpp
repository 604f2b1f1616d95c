#include <cstdlib>
#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/runtime.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/cli/stage_options.h"

namespace kd::cli {

int cache_command(const std::vector<std::string>& args) {
  po::variables_map vm;
  if (!parse(args, cache_tables(),
             "Usage: kdpipe cache (--teacher DIR | --torchscript FILE) --out FILE.h5 [options]\n\n"
             "Runs a teacher over one split of a dataset, V views per example, and writes its\n"
             "logits (and softmax at each temperature) to an HDF5 cache. An interrupted run\n"
             "resumes from its last complete chunk when run again.",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: a cache file to write is required");
  CacheOptions options = cache_options_from(vm);
  options.workers(thread_count(vm["threads"].as<int>()))
      .device(resolve_device(vm["device"].as<std::string>()));
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AFTER_CHUNKS")) {
    options.kill_after_chunks(std::atoll(fault));
  }
  options.validate();
  // The engine's workers fill the cores; on CPU each runs single-threaded LibTorch ops.
  configure_threads(options.device().is_cuda() ? options.workers() : 1);
  const CacheSummary s = build_cache(
      options, [](const std::string& line) { std::cerr << "kdpipe cache: " << line << "\n"; });
  std::cout << "cache written to " << options.out().string() << ": " << s.images
            << " inputs inferred in " << s.seconds << " s ("
            << static_cast<int64_t>(s.images / std::max(s.seconds, 1e-9)) << " inputs/s)";
  if (s.chunks_resumed > 0) std::cout << ", " << s.chunks_resumed << " chunks resumed";
  std::cout << "\n";
  return 0;
}

}  // namespace kd::cli
