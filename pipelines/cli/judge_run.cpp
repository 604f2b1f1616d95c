// A judge's run directory read back, for `kdpipe status` and `kdpipe report`: its settings from
// judge.args, its rounds replayed from the students that finished.
#include <nlohmann/json.hpp>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/judge_options.h"
#include "pipelines/report/judge_report.h"

namespace kd::cli {

namespace fs = std::filesystem;

bool is_judge_run(const fs::path& run_dir) {
  return (fs::exists(run_dir / "judge.args") || fs::exists(run_dir / "judge.json")) &&
         !fs::exists(run_dir / "study.ini");
}

namespace {

// The judge of a run directory, from its judge.args, with its rounds replayed.
Judge replayed_judge(const fs::path& run_dir) {
  const fs::path file = run_dir / "judge.args";
  check<StorageError>(fs::exists(file), run_dir.string(),
                      ": a judge run without judge.args (its settings): run the same kdpipe "
                      "judge again to write it (finished stages are kept)");
  std::vector<std::string> args, names;
  try {
    const nlohmann::json doc = nlohmann::json::parse(read_text(file));
    args = doc.at("args").get<std::vector<std::string>>();
    if (doc.contains("names")) names = doc.at("names").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw StorageError(file.string() + ": unreadable (" + e.what() + ")");
  }
  try {
    po::variables_map vm;
    parse(args, judge_options(), "", vm);
    Judge judge(settings_from(vm));
    judge.name_teachers(names);
    judge.replay(run_dir);
    return judge;
  } catch (const ConfigError& e) {  // the file is at fault, not the command line
    throw StorageError(file.string() + ": settings judge refuses (" + e.what() + ")");
  }
}

}  // namespace

std::vector<Stage> judge_run_stages(const fs::path& run_dir) {
  return replayed_judge(run_dir).stages();
}

std::vector<std::string> write_judge_run_report(const fs::path& run_dir) {
  const JudgeAnswer answer = replayed_judge(run_dir).answer(run_dir);
  write_judge_report(answer, run_dir);
  return answer_lines(answer);
}

}  // namespace kd::cli
