#include <iostream>

#include "lib/core/error.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/cli/stage_options.h"
#include "pipelines/cli/stage_ranks.h"

namespace kd::cli {

int distill_command(const std::vector<std::string>& args) {
  po::variables_map vm;
  if (!parse(args, distill_tables(),
             "Usage: kdpipe distill --cache FILE.h5 --out DIR [options]\n"
             "       kdpipe distill --baseline hard|smooth --out DIR [options]\n\n"
             "Trains a student from a teacher's cached logits alone (the teacher is never run):\n"
             "loss (1-alpha)*CE + alpha*Ts^2*KL(softmax(z_t/T) || softmax(z_s/Ts)). At epoch e it\n"
             "sees view e mod V of each example, the input the cached logits were computed on.\n"
             "Writes DIR/model.pt, DIR/metrics.json (accuracy, NLL, ECE, gamma) and DIR/train.log.",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: an output directory is required");
  DistillOptions options = distill_options_from(vm);
  options.validate();
  const StageRanks ranks =
      join_or_start_ranks("distill", args, vm, options.train().ranks(), options.out());
  if (ranks.launched) return ranks.exit_status;  // rank 0 said what it wrote, or why not
  options.threads(torch::get_num_threads());
  // Checkpoints every epoch; a run killed mid-training resumes after its last.
  options.resume(resume_options(resume_key(options), ranks.rank()));
  Progress progress = ranks.rank() == 0 ? Progress::for_stderr() : Progress::silent();
  const StageResult r = distill(options, progress, ranks.communicator.get());
  if (ranks.rank() != 0) return 0;
  std::cout << r.kind << " written to " << options.out().string() << ": test accuracy "
            << r.evaluation.test.accuracy << ", ECE " << r.evaluation.test.ece << ", target gamma "
            << r.target_gamma << "\n";
  return 0;
}

}  // namespace kd::cli
