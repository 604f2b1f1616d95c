// Debian's LibTorch is built with Gloo; its headers need saying so (Torch's CMake package says it
// on the command line; this is for any other build).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include "lib/dist/gloo_communicator.h"

#include <string>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace kd {

namespace {

// Gloo's messages ("[../gloo/transport/tcp/pair.cc:598] Connection closed by peer [127.0.0.1]:
// 41873") name a source file first; the reader needs what happened.
std::string gloo_message(const std::exception& e) {
  std::string m = e.what();
  if (!m.empty() && m.front() == '[') {
    const std::size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  if (const std::size_t nl = m.find('\n'); nl != std::string::npos) m = m.substr(0, nl);
  return m;
}

class GlooPending : public PendingCollective {
 public:
  GlooPending(c10::intrusive_ptr<c10d::Work> work, int rank)
      : work_(std::move(work)), rank_(rank) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      throw RankError(detail::concat(
          "rank ", rank_, ": a collective with the other ranks failed: ", gloo_message(e)));
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  int rank_;
};

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(c10::intrusive_ptr<c10d::ProcessGroupGloo> group, int rank, int size)
      : group_(std::move(group)), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::unique_ptr<PendingCollective> start_sum(torch::Tensor tensor) override {
    std::vector<at::Tensor> tensors{std::move(tensor)};
    return std::make_unique<GlooPending>(group_->allreduce(tensors), rank_);
  }
  void broadcast(torch::Tensor tensor, int root) override {
    std::vector<at::Tensor> tensors{std::move(tensor)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    GlooPending(group_->broadcast(tensors, options), rank_).wait();
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  int rank_, size_;
};

c10::intrusive_ptr<c10d::Store> open_store(const Rendezvous& at,
                                           std::chrono::milliseconds timeout) {
  if (at.store.rfind("file:", 0) == 0)
    return c10::make_intrusive<c10d::FileStore>(at.store.substr(5), at.size);
  check<ConfigError>(at.store.rfind("tcp:", 0) == 0, "rendezvous '", at.store,
                     "': expected file:PATH or tcp:HOST:PORT");
  const std::string address = at.store.substr(4);
  const std::size_t colon = address.rfind(':');
  check<ConfigError>(colon != std::string::npos && colon > 0, "rendezvous '", at.store,
                     "': expected tcp:HOST:PORT");
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
  options.isServer = at.rank == 0;
  options.numWorkers = static_cast<std::size_t>(at.size);
  options.waitWorkers = true;
  options.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(address.substr(0, colon), options);
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const Rendezvous& at) {
  if (!at.interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(at.interface);
  if (at.store.rfind("file:", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

std::unique_ptr<Communicator> connect_gloo(const Rendezvous& at,
                                           std::chrono::milliseconds timeout) {
  try {
    const auto store = open_store(at, timeout);
    store->setTimeout(timeout);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(at));
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, at.rank, at.size, options);
    return std::make_unique<GlooCommunicator>(std::move(group), at.rank, at.size);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw RankError(detail::concat("rank ", at.rank, " of ", at.size, " (", at.launcher,
                                   "): the ranks could not meet at ", at.store, " (--rank-timeout ",
                                   timeout.count() / 1000, " s): ", gloo_message(e)));
  }
}

}  // namespace kd
