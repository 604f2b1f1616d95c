#include "lib/dist/rendezvous.h"

#include <cstdlib>

#include "lib/core/error.h"

namespace kd {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, const std::string& value) {
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  check<ConfigError>(end && *end == '\0' && v >= 0 && v < 1000000, name,
                     ": expected a non-negative count, got '", value, "'");
  return static_cast<int>(v);
}

int env_int(const char* name, int fallback) {
  const auto v = env(name);
  return v ? env_int(name, *v) : fallback;
}

void check_size(const char* what, int size, int ranks) {
  check<ConfigError>(size == ranks, what, " starts ", size, size == 1 ? " rank" : " ranks",
                     " but --ranks is ", ranks, ": give the same number to both");
}

}  // namespace

std::optional<Rendezvous> rendezvous_from_environment(int ranks) {
  Rendezvous r;
  r.interface = env("GLOO_SOCKET_IFNAME").value_or("");
  // kdpipe's own launcher, then torchrun (which may itself run inside a SLURM step: its variables
  // say what it started), then SLURM.
  if (const auto store = env("KDPIPE_RENDEZVOUS")) {
    r.launcher = "kdpipe";
    r.size = env_int("KDPIPE_WORLD_SIZE", 1);
    check_size("kdpipe's launcher", r.size, ranks);
    r.rank = env_int("KDPIPE_RANK", 0);
    r.local_rank = r.rank;
    r.local_size = r.size;
    r.store = *store;
    r.supervised = true;
  } else if (env("RANK") && env("WORLD_SIZE") && env("MASTER_ADDR") && env("MASTER_PORT")) {
    r.launcher = "torchrun";
    r.size = env_int("WORLD_SIZE", 1);
    if (r.size == 1 && ranks == 1) return std::nullopt;
    check_size("torchrun", r.size, ranks);
    r.rank = env_int("RANK", 0);
    r.local_rank = env_int("LOCAL_RANK", 0);
    r.local_size = std::max(1, env_int("LOCAL_WORLD_SIZE", 1));
    const int port = env_int("MASTER_PORT", 0);
    check<ConfigError>(port > 0 && port < 65536,
                       "MASTER_PORT: expected a port from 1 to 65535, got ", port);
    r.store = "tcp:" + *env("MASTER_ADDR") + ":" + std::to_string(port);
  } else if (env("SLURM_STEP_ID") && env("SLURM_PROCID") && env("SLURM_STEP_NUM_TASKS") &&
             env_int("SLURM_STEP_NUM_TASKS", 1) > 1) {
    // Inside `srun`: every task of the step is a rank. (A batch script, one task, is not.)
    r.launcher = "slurm";
    r.size = env_int("SLURM_STEP_NUM_TASKS", 1);
    check_size("the SLURM step", r.size, ranks);
    r.rank = env_int("SLURM_PROCID", 0);
    r.local_rank = env_int("SLURM_LOCALID", 0);
    r.local_size = 1;
    if (const auto per_node = env("SLURM_STEP_TASKS_PER_NODE")) {
      // "2(x3),1" — the first count is this node's when tasks are spread evenly; the exact
      // figure only sizes the threads.
      r.local_size = std::max(1, std::atoi(per_node->c_str()));
    }
    const auto nodes = env("SLURM_STEP_NODELIST");
    check<ConfigError>(nodes.has_value(), "SLURM_STEP_NODELIST is not set in this SLURM step");
    const long job = std::atol(env("SLURM_JOB_ID").value_or("0").c_str());
    const long step = std::atol(env("SLURM_STEP_ID").value_or("0").c_str());
    r.store = "tcp:" + first_slurm_host(*nodes) + ":" + std::to_string(slurm_port(job, step));
  } else {
    return std::nullopt;
  }
  check<ConfigError>(r.rank < r.size, r.launcher, ": rank ", r.rank, " of ", r.size,
                     " ranks is out of range");
  return r;
}

std::vector<std::string> local_rank_environment(int rank, int size, const std::string& store_file) {
  // c10d's own warnings (glog) would repeat what the launcher says in one line.
  return {"KDPIPE_RANK=" + std::to_string(rank), "KDPIPE_WORLD_SIZE=" + std::to_string(size),
          "KDPIPE_RENDEZVOUS=file:" + store_file, "GLOG_minloglevel=3"};
}

std::string first_slurm_host(const std::string& nodelist) {
  const std::string first = nodelist.substr(0, nodelist.find_first_of(",["));
  const std::size_t open = nodelist.find('[');
  if (open == std::string::npos || open != first.size()) return first;
  // The first host is the prefix followed by the first number of the range, as written.
  const std::size_t end = nodelist.find_first_of(",-]", open + 1);
  return first + nodelist.substr(open + 1, end - open - 1);
}

int slurm_port(long job_id, long step_id) {
  const unsigned long mixed =
      static_cast<unsigned long>(job_id) * 131UL + static_cast<unsigned long>(step_id);
  return 20000 + static_cast<int>(mixed % 40000UL);
}

}  // namespace kd
