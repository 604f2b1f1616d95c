// How a study names and identifies what its stages compute from: model specs as folder names, and
// the data's identity between runs (a changed file reruns every stage).
#pragma once

#include <filesystem>
#include <string>

#include "lib/data/datasets.h"

namespace kd {

/// A model spec as a folder name: "mlp:800-800" → "mlp800-800"; a long spec keeps its first 40
/// characters and a hash of the whole; torchscript:FILE → "ts-STEM-HASH8" of the file's content.
std::string stage_slug(const std::string& spec);

/// A folder's file names, sizes and modification times, hashed; "(missing)" when it is gone.
std::string folder_identity(const std::filesystem::path& folder);

/// What identifies the data between runs: an array file's content hash, or a folder's listing.
std::string data_identity(const DataOptions& data);

/// The data as every stage names it: a built-in dataset's default folder spelled out.
DataOptions canonical(DataOptions data);

}  // namespace kd
