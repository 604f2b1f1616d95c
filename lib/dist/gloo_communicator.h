// The Communicator of CPU ranks: c10d's ProcessGroupGloo, as Python's torch.distributed uses it,
// meeting through a c10d FileStore (one machine) or TCPStore (served by rank 0).
#pragma once

#include <chrono>
#include <memory>

#include "lib/dist/communicator.h"
#include "lib/dist/rendezvous.h"

namespace kd {

/// Joins the group `at` describes; every rank must call it. A collective not done within
/// `timeout` (a rank dead or hung) throws RankError, as does a rendezvous not formed within it.
std::unique_ptr<Communicator> connect_gloo(const Rendezvous& at, std::chrono::milliseconds timeout);

}  // namespace kd
