// The kdpipe commands. Each takes the arguments after its name and returns the exit status.
#pragma once

#include <string>
#include <vector>

#include "pipelines/study/executor.h"

namespace kd::cli {

struct Command {
  std::string name;
  std::string summary;
  int (*run)(const std::vector<std::string>& args);
};

/// Every command, in the order `kdpipe --help` lists them.
const std::vector<Command>& commands();

/// `kdpipe teach`: train and evaluate one teacher.
int teach_command(const std::vector<std::string>& args);

/// `kdpipe cache`: write one logit cache.
int cache_command(const std::vector<std::string>& args);

/// `kdpipe distill`: train one student from a cache, or a baseline alone.
int distill_command(const std::vector<std::string>& args);

/// `kdpipe cache-merge`: the shards of one cache into the whole cache.
int cache_merge_command(const std::vector<std::string>& args);

/// `kdpipe run`: a whole study.
int run_command(const std::vector<std::string>& args);

/// `kdpipe judge`: which teacher teaches a student best, decided over student seeds.
int judge_command(const std::vector<std::string>& args);

/// Runs the stage `id` of `stages` alone, as a cluster job does (`--only`): its dependencies must
/// be done (Error otherwise). Exit status 0 when it is done.
int run_one_stage(const std::vector<Stage>& stages, const std::string& id, ExecuteOptions options);

/// Whether run_dir is a `kdpipe judge` run directory (judge.args, no study.ini).
bool is_judge_run(const std::filesystem::path& run_dir);

/// The stages of a `kdpipe judge` run directory: its settings read from RUN/judge.args and its
/// rounds replayed from the students that finished. StorageError when judge.args is unreadable.
std::vector<Stage> judge_run_stages(const std::filesystem::path& run_dir);

/// Writes the report of a judge run directory (RUN/report/) from its finished students; returns
/// the answer's lines.
std::vector<std::string> write_judge_run_report(const std::filesystem::path& run_dir);

/// `kdpipe status`: where every stage of a study run stands.
int status_command(const std::vector<std::string>& args);

/// `kdpipe report`: the report of a study run.
int report_command(const std::vector<std::string>& args);

/// `kdpipe inspect`: describe and verify a cache or checkpoint.
int inspect_command(const std::vector<std::string>& args);

/// `kdpipe import`: an image folder into an h5 array file.
int import_command(const std::vector<std::string>& args);

/// `kdpipe export`: a model directory into a TorchScript file.
int export_command(const std::vector<std::string>& args);

/// The whole CLI: dispatches argv[1], turns errors into one line on stderr and an exit status
/// (2 for bad options or input specs, 1 for other failures).
int main(int argc, char** argv);

}  // namespace kd::cli
