// Fingerprints of datasets, files and stage identities: XXH3-128 (xxHash, a maintained library),
// streamed, so the digest depends on the bytes alone, not on how they arrive. Not cryptographic:
// it detects accidental mismatches, not tampering. (kdpipe before 0.3 folded 64-bit words with
// FNV-1a, under which two flips of a word's top bit cancel; caches of that era are format 1.)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace kd {

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher& other);
  Hasher& operator=(const Hasher& other);

  Hasher& update(const void* data, std::size_t bytes);
  /// The text's length, then its bytes: "ab" + "c" and "a" + "bc" differ.
  Hasher& update(const std::string& text);
  template <typename T>
  Hasher& update_value(const T& value) {
    return update(&value, sizeof(T));
  }
  /// The digest as 32 lower-case hex digits.
  std::string hex() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Hash of a whole file's bytes, as hex.
std::string hash_file(const std::filesystem::path& path);

/// The hash of kdpipe before 0.3 (FNV-1a over the 64-bit words of each update, then its last
/// bytes; 16 hex digits), kept only to verify format-1 caches before `kdpipe inspect --upgrade`
/// rewrites their fingerprints with Hasher. Never used for anything new.
class LegacyHasher {
 public:
  LegacyHasher& update(const void* data, std::size_t bytes);
  template <typename T>
  LegacyHasher& update_value(const T& value) {
    return update(&value, sizeof(T));
  }
  std::string hex() const;

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

/// hash_file as kdpipe before 0.3 computed it (1 MiB reads, each one LegacyHasher update).
std::string legacy_hash_file(const std::filesystem::path& path);

/// splitmix64: a counter-based mixer; equal inputs give equal outputs on every platform.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A random 64-bit word determined only by (key, a, b).
inline std::uint64_t counter_random(std::uint64_t key, std::uint64_t a, std::uint64_t b) {
  return mix64(mix64(mix64(key) ^ a) ^ b);
}

/// A standard normal number determined only by (key, a, k): Box-Muller on the words
/// (key, a, 2k) and (key, a, 2k + 1), each made a uniform number in (0, 1].
inline double counter_normal(std::uint64_t key, std::uint64_t a, std::uint64_t k) {
  constexpr double two_pi = 6.28318530717958647692;
  const auto uniform = [&](std::uint64_t j) {
    return (static_cast<double>(counter_random(key, a, j) >> 11) + 1.0) * 0x1.0p-53;
  };
  return std::sqrt(-2.0 * std::log(uniform(2 * k))) * std::cos(two_pi * uniform(2 * k + 1));
}

}  // namespace kd
