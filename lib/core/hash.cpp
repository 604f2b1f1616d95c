#include "lib/core/hash.h"

#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "lib/core/error.h"

namespace kd {

struct Hasher::State {
  XXH3_state_t* xxh = XXH3_createState();
  State() {
    if (xxh == nullptr) throw std::bad_alloc();
    XXH3_128bits_reset(xxh);
  }
  ~State() { XXH3_freeState(xxh); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

Hasher::Hasher() : state_(std::make_unique<State>()) {}
Hasher::~Hasher() = default;

Hasher::Hasher(const Hasher& other) : state_(std::make_unique<State>()) {
  XXH3_copyState(state_->xxh, other.state_->xxh);
}

Hasher& Hasher::operator=(const Hasher& other) {
  if (this != &other) XXH3_copyState(state_->xxh, other.state_->xxh);
  return *this;
}

Hasher& Hasher::update(const void* data, std::size_t bytes) {
  XXH3_128bits_update(state_->xxh, data, bytes);
  return *this;
}

Hasher& Hasher::update(const std::string& text) {
  update_value(static_cast<std::uint64_t>(text.size()));
  return update(text.data(), text.size());
}

std::string Hasher::hex() const {
  const XXH128_hash_t d = XXH3_128bits_digest(state_->xxh);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(d.high64),
                static_cast<unsigned long long>(d.low64));
  return buf;
}

namespace {

// A file's bytes through `h`, in 1 MiB reads (each one update: LegacyHasher depends on that).
template <typename H>
std::string hash_file_with(const std::filesystem::path& path, H h) {
  std::ifstream in(path, std::ios::binary);
  check<StorageError>(static_cast<bool>(in), "opening ", path.string(), " to hash it: cannot read");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return h.hex();
}

constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

}  // namespace

std::string hash_file(const std::filesystem::path& path) { return hash_file_with(path, Hasher()); }

LegacyHasher& LegacyHasher::update(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = state_;
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = (h ^ word) * kFnvPrime;
  }
  for (; i < bytes; ++i) h = (h ^ p[i]) * kFnvPrime;
  state_ = h;
  return *this;
}

std::string LegacyHasher::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(state_));
  return buf;
}

std::string legacy_hash_file(const std::filesystem::path& path) {
  return hash_file_with(path, LegacyHasher());
}

}  // namespace kd
