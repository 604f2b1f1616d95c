#include <iostream>

#include "lib/core/error.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/cli/stage_options.h"
#include "pipelines/cli/stage_ranks.h"

namespace kd::cli {

int teach_command(const std::vector<std::string>& args) {
  po::variables_map vm;
  if (!parse(args, teach_tables(),
             "Usage: kdpipe teach --out DIR [options]\n"
             "       kdpipe teach --torchscript FILE [--input normalized|unit] --out DIR\n\n"
             "Trains a teacher with label-smoothed cross-entropy and evaluates it: writes\n"
             "DIR/model.pt, DIR/metrics.json (accuracy, NLL, ECE, temperature scaling, MI\n"
             "per epoch, stability) and DIR/train.log. With --torchscript, evaluates that\n"
             "model the same way instead (metrics.json and train.log; MI at the end only).",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: an output directory is required");
  TeachOptions options = teach_options_from(vm);
  options.validate();
  const StageRanks ranks =
      join_or_start_ranks("teach", args, vm, options.train().ranks(), options.out());
  if (ranks.launched) return ranks.exit_status;  // rank 0 said what it wrote, or why not
  options.threads(torch::get_num_threads());
  // A trained teacher checkpoints every epoch; a run killed mid-training resumes after its last.
  if (options.torchscript().empty())
    options.resume(resume_options(resume_key(options), ranks.rank()));
  Progress progress = ranks.rank() == 0 ? Progress::for_stderr() : Progress::silent();
  const TeachResult r = teach(options, progress, ranks.communicator.get());
  if (ranks.rank() != 0) return 0;
  const Evaluation& e = r.stage.evaluation;
  std::cout << "teacher written to " << options.out().string() << ": test accuracy "
            << e.test.accuracy << ", ECE " << e.test.ece << ", final MI " << r.mi_final
            << " nats\n";
  if (!r.mi_note.empty()) std::cout << "note: " << r.mi_note << "\n";
  return 0;
}

}  // namespace kd::cli
