#include <iostream>

#include "lib/core/error.h"
#include "lib/core/work_ledger.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/report/report_writers.h"

namespace kd::cli {

int report_command(const std::vector<std::string>& args) {
  po::options_description desc("Report");
  desc.add_options()("run-dir", po::value<std::string>(),
                     "a run directory of `kdpipe run` or `kdpipe judge`");
  po::positional_options_description positional;
  positional.add("run-dir", 1);
  po::variables_map vm;
  if (!parse(
          args, desc,
          "Usage: kdpipe report RUN_DIR\n\n"
          "Writes RUN_DIR/report/: report.json (every number), report.md, report.html and\n"
          "figures/ (PNG and SVG, each beside its gnuplot script and data) from the finished\n"
          "stages of a study run, with a verdict on which teacher teaches best; of a judge run,\n"
          "its answer, teachers, comparisons and students.",
          vm, &positional)) {
    return 0;
  }
  // An empty name is no name: it would be the working directory.
  check<ConfigError>(vm.count("run-dir") > 0 && !vm["run-dir"].as<std::string>().empty(),
                     "report: name a run directory");
  const std::filesystem::path run_dir = vm["run-dir"].as<std::string>();
  if (is_judge_run(run_dir)) {  // the judge's answer, replayed from its finished students
    for (const std::string& line : write_judge_run_report(run_dir)) std::cout << line << "\n";
    std::cout << "report written to " << (run_dir / "report" / "report.html").string() << "\n";
    return 0;
  }
  const Report report = [&] {
    const PhaseScope phase(Phase::write);
    return write_report(run_dir);
  }();
  for (const std::string& line : report.verdict) std::cout << line << "\n";
  std::cout << "report written to " << (run_dir / "report" / "report.html").string() << "\n";
  return 0;
}

}  // namespace kd::cli
