// Precompiled header: the heavy third-party headers that nearly every kdpipe file includes.
#pragma once

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
