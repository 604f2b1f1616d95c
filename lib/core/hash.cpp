#include "lib/core/hash.h"

#include <xxhash.h>

#include <cstdio>
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

std::string hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check<StorageError>(static_cast<bool>(in), "opening ", path.string(), " to hash it: cannot read");
  Hasher h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return h.hex();
}

}  // namespace kd
