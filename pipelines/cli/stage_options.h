// The process edge of the three stage commands (teach, cache, distill): for each, its option
// table, its typed options from a parsed table, and its typed options back to argv. A study
// reaches a stage process only through these: the planner builds typed options and turns them
// into argv with the *_argv functions, the stage's command parses them back with the same table
// (tests/pipelines/stage_options_test.cpp checks the round trip for every study key).
//
// The argv holds every *identity* field (what changes a result: data, model, recipe, seeds), so
// that a stage's identity is the hash of its canonical options; never the *execution* fields
// (--out, --threads, --device, workers), which the executor adds and which change no result.
#pragma once

#include <string>
#include <vector>

#include "pipelines/cli/options.h"
#include "storage/cache_stage.h"
#include "students/distill.h"
#include "teachers/teach.h"

namespace kd::cli {

/// `kdpipe teach`'s options (with --out, without the data, training and runtime tables).
po::options_description teach_table();
/// Every table `kdpipe teach` parses.
po::options_description teach_tables();
TeachOptions teach_options_from(const po::variables_map& vm);
std::vector<std::string> teach_argv(const TeachOptions& o);

po::options_description cache_table();
po::options_description cache_tables();
CacheOptions cache_options_from(const po::variables_map& vm);
std::vector<std::string> cache_argv(const CacheOptions& o);

po::options_description distill_table();
po::options_description distill_tables();
DistillOptions distill_options_from(const po::variables_map& vm);
std::vector<std::string> distill_argv(const DistillOptions& o);

/// What identifies a teach or distill run for its checkpoint (ResumeOptions::key): its canonical
/// options and the contents of the files they name (the data, a TorchScript architecture, the
/// cache). Threads, device and ranks are not in it: a run may resume with others.
std::string resume_key(const TeachOptions& o);
std::string resume_key(const DistillOptions& o);

/// The resume options of rank `rank` of a teach or distill command: the key, and the fault the
/// tests inject through KDPIPE_FAULT_KILL_AFTER_EPOCHS, KDPIPE_FAULT_KILL_AT_STEP and
/// KDPIPE_FAULT_STOP_AT_STEP (only into rank KDPIPE_FAULT_RANK when that is set).
ResumeOptions resume_options(const std::string& key, int rank = 0);

/// Parses `args` (a stage's argv without the command's name) with `tables`, as the command does.
po::variables_map parse_stage_args(const std::vector<std::string>& args,
                                   const po::options_description& tables);

}  // namespace kd::cli
