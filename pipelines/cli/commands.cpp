#include "pipelines/cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/names.h"
#include "lib/core/run_log.h"
#include "lib/core/runtime.h"
#include "lib/core/work_ledger.h"
#include "lib/dist/communicator.h"
#include "lib/dist/local_ranks.h"
#include "storage/array_file.h"
#include "storage/h5_process.h"

namespace kd::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"run", "run a whole study; skips what is done, resumes what was interrupted", &run_command},
      {"judge", "is this a good teacher for my student? adds seeds until the answer is known",
       &judge_command},
      {"teach", "train one teacher with label smoothing and evaluate it", &teach_command},
      {"cache", "cache a teacher's logits for one dataset split in HDF5", &cache_command},
      {"cache-merge", "join the shards of one cache (cache --shard i/n) into the whole cache",
       &cache_merge_command},
      {"distill", "train one student from a logit cache, or a baseline alone", &distill_command},
      {"status", "show where every stage of a study run stands, while it runs or after",
       &status_command},
      {"report", "write the report of a study run: tables, figures, verdict", &report_command},
      {"inspect", "describe a cache or checkpoint and check that it is intact", &inspect_command},
      {"import", "decode an image folder once into an h5 array file", &import_command},
      {"export", "write a kdpipe model as TorchScript for Python (torch.jit.load)",
       &export_command},
  };
  return all;
}

namespace {

void usage(std::ostream& out) {
  out << "Usage: kdpipe <command> [options]\n\nCommands:\n";
  std::size_t width = 0;
  for (const Command& c : commands()) width = std::max(width, c.name.size());
  for (const Command& c : commands())
    out << "  " << c.name << std::string(width + 2 - c.name.size(), ' ') << c.summary << "\n";
  out << "\n`kdpipe <command> --help` documents each command's options.\n";
}

// LibTorch errors carry a C++ backtrace after the first line; a user needs the first line.
// (TorchScript's compiler starts its messages with an empty line: skip those.)
std::string first_line(const std::string& text) {
  const auto start = std::min(text.size(), text.find_first_not_of("\n "));
  return text.substr(start, text.find('\n', start) - start);
}

}  // namespace

int main(int argc, char** argv) {
  // Process-wide choices belong here, at the edge, not inside the library calls.
  use_fast_blas_kernels(argv);
  keep_freed_memory();
  enable_array_files();
  use_exact_float32();
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    usage(std::cout);
    return all.empty() ? 2 : 0;
  }
  if (all[0] == "--version") {
    std::cout << "kdpipe " << version() << "\n";
    return 0;
  }
  for (const Command& c : commands()) {
    if (c.name != all[0]) continue;
    const std::string prefix = "kdpipe " + c.name + ": error: ";
    int status = 0;
    std::string message;  // what is printed, and ends the run's log
    try {
      status = c.run(std::vector<std::string>(all.begin() + 1, all.end()));
      if (status == 0) write_work_record();
      return status;
    } catch (const ConfigError& e) {
      message = printable(e.what());
      status = 2;
    } catch (const RankError& e) {
      // A rank that lost the others is not the one at fault: kdpipe's launcher, which watched
      // them all, names that one; under other launchers every rank says what it saw.
      if (std::getenv("KDPIPE_RENDEZVOUS") == nullptr) message = printable(e.what());
      status = kRankLostExit;
    } catch (const Error& e) {
      message = printable(e.what());
      status = 1;
    } catch (const c10::Error& e) {
      message = printable(first_line(e.what()));
      status = 1;
    } catch (const std::exception& e) {
      message = printable(first_line(e.what()));
      status = 1;
    }
    if (!message.empty()) {
      std::cerr << prefix << message << "\n";
      end_run_log_with_error(message);
    }
    exit_now_if_hdf5_files_open(status);
    return status;
  }
  std::cerr << "kdpipe: error: unknown command '" << all[0] << "'\n";
  usage(std::cerr);
  return 2;
}

}  // namespace kd::cli
