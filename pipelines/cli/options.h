// Command-line options shared by several kdpipe commands, and how they fill options structs.
#pragma once

#include <boost/program_options.hpp>

#include "lib/data/datasets.h"
#include "lib/train/trainer.h"

namespace kd::cli {

namespace po = boost::program_options;

/// --dataset, --data-dir, --val-size, --image-size, --channels.
po::options_description data_options();
DataOptions data_options_from(const po::variables_map& vm);
/// `data` as the options data_options parses back.
std::vector<std::string> data_argv(const DataOptions& data);

/// --epochs, --batch-size, --lr, --momentum, --weight-decay, --schedule, --seed, --augment.
po::options_description train_options(int64_t default_epochs, bool with_augment = true);
/// Also resolves --device (see runtime_options).
TrainOptions train_options_from(const po::variables_map& vm);
/// `train` as the options train_options parses back (not its device: an execution field).
std::vector<std::string> train_argv(const TrainOptions& train, bool with_augment);

/// --threads, --device.
po::options_description runtime_options();
/// Applies --threads to LibTorch and returns the count set.
/// A seed option, read as text: a whole number >= 0; ConfigError naming the option otherwise.
std::uint64_t seed_option(const po::variables_map& vm, const std::string& name);

int apply_threads(const po::variables_map& vm);

/// Parses `args` against `desc`; returns false (after printing usage) when --help was given.
/// Unknown options and malformed values become ConfigError naming the option.
bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const std::string& usage, po::variables_map& vm,
           const po::positional_options_description* positional = nullptr);

}  // namespace kd::cli
