// Where the ranks of a data-parallel stage find each other, read from the environment a launcher
// gives each rank: kdpipe's own local launcher (KDPIPE_RANK, KDPIPE_WORLD_SIZE,
// KDPIPE_RENDEZVOUS), a SLURM step (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID,
// SLURM_STEP_NODELIST, SLURM_JOB_ID), or torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT). GLOO_SOCKET_IFNAME names the network interface on multi-homed nodes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kd {

struct Rendezvous {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  ///< the rank among those on this node
  int local_size = 1;  ///< ranks on this node (they share its cores)
  /// "file:PATH" (a store file every rank opens: one machine) or "tcp:HOST:PORT" (a store rank 0
  /// serves).
  std::string store;
  std::string interface;    ///< the network interface to use; empty: the store's kind decides
  std::string launcher;     ///< "kdpipe", "slurm" or "torchrun": for messages
  bool supervised = false;  ///< kdpipe's local launcher watches the ranks and names a failed one
};

/// The rendezvous of this process when its environment makes it one of `ranks` ranks; nullopt
/// when no launcher started it as a rank (a SLURM job step or torchrun of another size included:
/// ConfigError naming both sizes).
std::optional<Rendezvous> rendezvous_from_environment(int ranks);

/// The environment kdpipe's local launcher gives rank `rank` of `size` meeting at `store_file`.
std::vector<std::string> local_rank_environment(int rank, int size, const std::string& store_file);

/// The first host of a SLURM node list ("n[07-09,12],m1" → "n07").
std::string first_slurm_host(const std::string& nodelist);

/// The port a SLURM step's ranks meet on: derived from the job and step ids, in [20000, 60000).
int slurm_port(long job_id, long step_id);

}  // namespace kd
