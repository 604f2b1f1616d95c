// A small streaming 64-bit hash (FNV-1a over 8-byte words) for fingerprints of datasets and
// checkpoints. Not cryptographic: it detects accidental mismatches, not tampering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace kd {

class Hasher {
 public:
  Hasher& update(const void* data, std::size_t bytes);
  Hasher& update(const std::string& text);
  template <typename T>
  Hasher& update_value(const T& value) {
    return update(&value, sizeof(T));
  }
  /// The digest as 16 lower-case hex digits.
  std::string hex() const;

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

/// Hash of a whole file's bytes, as hex.
std::string hash_file(const std::filesystem::path& path);

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

}  // namespace kd
