#include "pipelines/cli/stage_ranks.h"

#include <cstdlib>
#include <thread>

#include "lib/core/compute.h"
#include "lib/core/work_ledger.h"
#include "lib/dist/gloo_communicator.h"
#include "lib/dist/local_ranks.h"
#include "lib/dist/rendezvous.h"

namespace kd::cli {

namespace fs = std::filesystem;

po::options_description rank_options() {
  po::options_description d("Processes");
  d.add_options()("rank-timeout", po::value<int>()->default_value(300),
                  "with --ranks: seconds a rank waits for the others before the stage fails "
                  "naming the one that stopped answering");
  return d;
}

StageRanks join_or_start_ranks(const std::string& command, const std::vector<std::string>& args,
                               const po::variables_map& vm, int64_t ranks, const fs::path& out) {
  const int timeout = vm["rank-timeout"].as<int>();
  check<ConfigError>(timeout > 0, "--rank-timeout: expected a positive number of seconds, got ",
                     timeout);
  const int threads = vm["threads"].as<int>();
  StageRanks s;
  const std::optional<Rendezvous> at = rendezvous_from_environment(static_cast<int>(ranks));
  if (at) {
    // This node's cores are shared among its ranks.
    const int cores = thread_count(0);
    configure_threads(threads > 0 ? threads : std::max(1, cores / std::max(1, at->local_size)));
    s.communicator = connect_gloo(*at, std::chrono::seconds(timeout));
    return s;
  }
  if (ranks <= 1) {
    configure_threads(threads);
    return s;
  }
  thread_count(threads);  // a bad --threads is refused here, not N times
  fs::create_directories(out);
  // An earlier run's logs of ranks this run does not have would look like this run's.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rank-", 0) == 0 && entry.path().extension() == ".log")
      fs::remove(entry.path(), ec);
  }
  LocalRanks launch;
  launch.argv = {fs::read_symlink("/proc/self/exe").string(), command};
  launch.argv.insert(launch.argv.end(), args.begin(), args.end());
  launch.ranks = static_cast<int>(ranks);
  launch.logs.push_back(out / "train.log");
  for (int r = 1; r < launch.ranks; ++r)
    launch.logs.push_back(out / ("rank-" + std::to_string(r) + ".log"));
  launch.timeout = std::chrono::seconds(timeout);
  // Rank 0's work record is the stage's; nobody else writes one, this process included.
  launch.other_ranks_environment = {std::string(kWorkFileVariable) + "="};
  const RanksOutcome outcome = run_local_ranks(launch);
  ::unsetenv(kWorkFileVariable);
  if (!outcome.failure.empty()) {
    if (outcome.status == 2) throw ConfigError(outcome.failure);  // a rank refused an option
    throw TrainingError(outcome.failure);
  }
  s.launched = true;
  s.exit_status = outcome.status;
  return s;
}

}  // namespace kd::cli
