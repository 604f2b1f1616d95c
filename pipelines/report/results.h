// The report's data as types: what one teacher or student stage measured (read from its
// metrics.json by results_reader.cpp), students grouped over seeds, and the whole Report that the
// writers (JSON, Markdown, HTML, figures) present. JSON appears only where files are read and
// written.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "lib/core/enum_names.h"
#include "lib/metrics/calibration.h"
#include "pipelines/judge/judge_answer.h"

namespace kd {

/// Müller et al.'s fig. 1 for one teacher: examples of three classes projected onto the plane of
/// their templates in the penultimate layer.
struct Projection {
  struct Point {
    std::string split;  ///< "train" or "test"
    int64_t cls = 0;    ///< index into `classes`
    double x = 0, y = 0;
  };
  std::vector<std::string> classes;
  std::array<int64_t, 3> class_indices{};
  std::vector<Point> points;
};

struct TeacherResult {
  std::string id;  ///< the stage id, e.g. "teach/eps0.1-seed0"
  std::string arch;
  std::string source;  ///< "kdpipe" or "torchscript"
  double smoothing = 0;
  int64_t seed = 0;
  double test_accuracy = 0, test_nll = 0, test_ece = 0;
  /// Temperature scaling fitted on validation; absent with val-size = 0.
  std::optional<double> temperature, test_ece_after_temperature;
  double mi_final = 0, mi_upper_bound = 0;
  std::vector<double> mi_per_epoch;
  double stability = 0;
  std::vector<ReliabilityBin> reliability;
  std::optional<Projection> projection;  ///< absent when projection_note says why
  /// Why a teacher has no projection (a TorchScript model off the features/head convention).
  std::string projection_note;
};

/// How a student learned: from a teacher's cache, or alone on hard or smoothed labels.
enum class StudentSource { distill, hard, smooth };
template <>
struct EnumNames<StudentSource> {
  static constexpr std::array<const char*, 3> names = {"distill", "hard", "smooth"};
};

/// What makes students one group: everything but the seed. Ordered, so groups sort the same way
/// in every file.
struct StudentGroupKey {
  StudentSource source = StudentSource::distill;
  std::string arch;
  std::optional<double> teacher_smoothing, temperature, alpha;  ///< distilled students only
  std::optional<double> smoothing;                              ///< smoothed baselines only

  auto tied() const {
    return std::tie(source, arch, teacher_smoothing, temperature, alpha, smoothing);
  }
  bool operator<(const StudentGroupKey& o) const { return tied() < o.tied(); }
  bool operator==(const StudentGroupKey& o) const { return tied() == o.tied(); }
};

/// One student stage's measurements.
struct StudentResult {
  std::string id;
  StudentGroupKey key;
  int64_t seed = 0;
  double test_accuracy = 0, test_ece = 0, target_gamma = 0;
  std::optional<double> val_accuracy;  ///< absent with val-size = 0
};

/// The students of one key over their seeds, with the summaries the pages show.
struct StudentGroup {
  StudentGroupKey key;
  std::vector<int64_t> seeds;
  std::vector<double> accuracies, val_accuracies, eces, gammas;  ///< per seed, in seed order

  double accuracy_mean = 0, accuracy_min = 0, accuracy_max = 0, ece_mean = 0, gamma_mean = 0;
  std::optional<double> val_accuracy_mean;  ///< when every seed has a validation accuracy
  /// The 95% t interval of the mean test accuracy over seeds; absent with one seed.
  std::optional<std::array<double, 2>> accuracy_ci95;

  std::size_t n() const { return accuracies.size(); }
  bool has_val() const { return !val_accuracies.empty() && val_accuracies.size() == n(); }
};

/// Two single-seed teachers compared example by example on their shared test set.
struct TeacherComparison {
  double smoothing_a = 0, smoothing_b = 0;
  std::string method;
  double estimate = 0;  ///< accuracy of a minus b
  std::array<double, 2> ci95{};
  double mcnemar_p = 1;
  int64_t examples = 0, only_a_right = 0, only_b_right = 0;
};

/// A figure the report drew: its title and files, relative to the report folder.
struct FigureFiles {
  std::string name, title, png, svg, gp, tsv;
};

/// A study's cache as it is on disk: what its students learn from, and what it costs.
struct CacheResult {
  std::string id;
  int64_t examples = 0, views = 0, classes = 0, temperatures = 0;
  int64_t top_k = 0;                  ///< 0: whole rows (logits and probabilities)
  std::string top_k_rule;             ///< "" for whole rows
  double bytes_per_example_view = 0;  ///< the soft labels' bytes on disk per example and view
  int64_t file_bytes = 0;
};

struct Report {
  std::string kdpipe_version, created, run_dir;
  std::vector<TeacherResult> teachers;  ///< by ε, then seed
  std::vector<CacheResult> caches;      ///< whole caches, by stage id
  std::vector<StudentGroup> students;   ///< by key
  std::vector<TeacherComparison> teacher_comparisons;
  std::vector<std::string> verdict;
  /// The verdict's student comparisons decided by the sequential rule, when the study adds seeds
  /// in rounds (study.max-seeds); teachers named by ε.
  std::optional<JudgeAnswer> decisions;
  std::vector<FigureFiles> figures;
};

/// Groups students by key, in key order, each group's seeds in ascending order, with its means,
/// extremes and interval.
std::vector<StudentGroup> group_students(std::vector<StudentResult> students);

}  // namespace kd
