// `kdpipe judge` as a typed object: its settings checked once, the stages planned round by round
// (the first at every temperature of the grid, then one student seed per round for the
// comparisons still open), and the answer read back from the stages' results.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/datasets.h"
#include "pipelines/judge/judge_answer.h"
#include "pipelines/study/study.h"

namespace kd {

struct JudgeSettings {
  std::vector<std::string> teachers;  ///< --teacher values: PATH or PATH=EPS
  std::string student = "mlp:800-800";
  DataOptions data;
  SequentialPlan plan;
  std::vector<double> temperatures = {2, 4};
  int64_t epochs = 30;
  int64_t batch_size = 128;
  double lr = 0.05;
  int64_t train_subset = 0;
  int64_t views = 4;
  std::string teacher_input = "normalized";
  std::string student_input = "normalized";
  double time_limit_s = 0;  ///< 0: none
  int jobs = 1;
};

class Judge {
 public:
  /// Checks the settings (ConfigError naming the option): the rule, the temperatures, the data
  /// (with a validation split), the student on this data, every teacher (readable, taking this
  /// data's inputs, one logit per class); then plans the first round.
  explicit Judge(JudgeSettings settings);

  /// The settings with every path absolute and each teacher's label smoothing stated where it is
  /// known: what a cluster job, started elsewhere, is given to plan the same stages.
  JudgeSettings for_jobs() const;

  /// The teachers as the user named them (the --teacher paths as typed), and the same names put
  /// back on a judge rebuilt from for_jobs() (ignored unless one per teacher).
  std::vector<std::string> teacher_names() const;
  void name_teachers(const std::vector<std::string>& names);

  /// Every stage planned so far, dependencies first: rerunning them is free once done.
  std::vector<Stage> stages() const;
  int round() const { return round_; }

  /// After a round: reads what the students measured and plans the next seed for the
  /// comparisons still open. False when judging is over: all decided, --max-seeds reached, or
  /// `out_of_time`.
  bool next_round(const std::filesystem::path& run_dir, bool out_of_time);

  /// Plans the rounds that the students finished in `run_dir` call for, up to the first round
  /// not yet done (or the last one): where a resumed, queried or cluster-job judge stands.
  void replay(const std::filesystem::path& run_dir);

  /// The answer from the stages done in `run_dir`.
  JudgeAnswer answer(const std::filesystem::path& run_dir) const;

  /// --dry-run: the plan, its size at worst (every comparison open to --max-seeds) and the time
  /// that takes with `jobs` stages at once, from one student step timed here.
  std::vector<std::string> plan_text(const std::filesystem::path& run_dir, int jobs) const;

 private:
  JudgeSettings s_;
  std::vector<NamedTeacher> teachers_;
  Study recipe_;
  JudgePlan plan_;
  int round_ = 1;
  JudgeStop stop_ = JudgeStop::decided;
};

}  // namespace kd
