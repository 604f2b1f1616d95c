// The kdpipe commands. Each takes the arguments after its name and returns the exit status.
#pragma once

#include <string>
#include <vector>

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
