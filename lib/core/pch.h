// Precompiled header: the heavy third-party headers that nearly every kdpipe file includes.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
