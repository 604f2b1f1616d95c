// The one reader of each file the report takes in: a run's manifest and its stages'
// metrics.json, into the typed results of results.h. Every missing or out-of-domain field is a
// StorageError naming the file and the field.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/datasets.h"
#include "pipelines/report/results.h"

namespace kd {

/// A stage as the manifest lists it.
struct ManifestStage {
  std::string id;
  std::string kind;              ///< teach, cache, distill or baseline
  std::filesystem::path folder;  ///< the stage's folder, inside the run directory
  std::filesystem::path output;  ///< its output file, inside the run directory
};

/// The stages a run's manifest lists. Their folders and outputs are stored relative to the run
/// directory (the manifest's folder), so a run can be moved; one that is absolute, climbs out with
/// "..", or leads out through a link is a StorageError naming the field: a report reads only the
/// run's own files.
std::vector<ManifestStage> read_manifest(const std::filesystem::path& manifest);

/// A teacher stage's results, and the data it was evaluated on (for its projection).
struct TeacherRecord {
  TeacherResult result;
  DataOptions data;
};

TeacherRecord read_teacher_metrics(const std::filesystem::path& metrics, const std::string& id);
StudentResult read_student_metrics(const std::filesystem::path& metrics, const std::string& id);

}  // namespace kd
