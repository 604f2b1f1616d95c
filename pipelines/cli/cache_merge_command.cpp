#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "storage/cache_merge.h"

namespace kd::cli {

int cache_merge_command(const std::vector<std::string>& args) {
  po::options_description merge("Merge");
  merge.add_options()("shards", po::value<std::vector<std::string>>()->multitoken(),
                      "the shard files (kdpipe cache --shard i/n), in any order")(
      "out", po::value<std::string>(), "the whole cache to write (.h5)")(
      "compress", po::value<int>()->default_value(0), "gzip level 0-9 (0: none)");
  po::options_description desc;
  // --threads and --device as every stage command takes them (merging is copying: one thread).
  desc.add(merge).add(runtime_options());
  po::positional_options_description positional;
  positional.add("shards", -1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe cache-merge SHARD.h5... --out FILE.h5\n\n"
             "Joins the shards of one cache (kdpipe cache --shard i/n) into the whole cache,\n"
             "value for value what one unsharded run writes. Refuses a shard that is missing,\n"
             "given twice, or of another teacher, dataset or layout, naming it.",
             vm, &positional)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: the merged cache file to write is required");
  check<ConfigError>(vm.count("shards") > 0, "cache-merge: give the shard files to merge");
  apply_threads(vm);  // checked as every command checks it; merging itself is one thread
  resolve_device(vm["device"].as<std::string>());
  const int compress = vm["compress"].as<int>();
  check<ConfigError>(compress >= 0 && compress <= 9, "--compress: expected a gzip level 0-9, got ",
                     compress);
  std::vector<std::filesystem::path> shards;
  for (const std::string& s : vm["shards"].as<std::vector<std::string>>()) shards.emplace_back(s);
  const MergeSummary s = merge_cache_shards(shards, vm["out"].as<std::string>(), compress);
  std::cout << "cache written to " << vm["out"].as<std::string>() << ": " << s.shards << " shards, "
            << s.examples << " examples";
  if (s.chunks_resumed > 0) std::cout << ", " << s.chunks_resumed << " chunks resumed";
  std::cout << "\n";
  return 0;
}

}  // namespace kd::cli
