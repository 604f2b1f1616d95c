// A study file: the dataset, the teachers (label smoothing × seeds), the cache, the students
// (architectures × temperatures × α × seeds) and the baselines of one label-smoothing study.
// INI, read with Boost.Program_options; see pipelines/configs/label-smoothing.ini.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/data/datasets.h"
#include "lib/train/trainer.h"
#include "pipelines/study/study_enums.h"
#include "storage/cache_header.h"
#include "storage/inference_engine.h"
#include "students/distill.h"

namespace kd {

/// A study. Its member initializers are the defaults of every key a study file leaves out (the key
/// table, study_keys.cpp, reads them from here): each default lives once.
struct Study {
  std::filesystem::path file;
  std::string name = "study";
  DataOptions data;

  std::string teacher_arch = "mlp:1200-1200";
  ModelInit teacher_init = ModelInit::seed;  ///< file: a torchscript:FILE teacher's own weights
  std::string teacher_input = "normalized";  ///< a torchscript:FILE teacher's images: or unit
  std::vector<double> teacher_smoothing = {0, 0.1};  ///< may be empty with TorchScript teachers
  std::vector<std::uint64_t> teacher_seeds = {0};
  TrainOptions teacher_train = TrainOptions().augment(Augment::shift_flip);
  std::array<int64_t, 2> mi_classes = {0, 1};  ///< the two classes of the MI probe
  int64_t mi_examples = 300;                   ///< per class, in the MI probe
  int64_t mi_views = 5;
  /// Teachers trained elsewhere, evaluated rather than trained; each with the ε it was trained
  /// with (the report tells teachers apart by ε, so every teacher's ε differs).
  std::vector<std::filesystem::path> torchscript;
  std::vector<double> torchscript_smoothing;
  std::string torchscript_input = "normalized";  ///< normalized or unit

  int64_t views = 4;
  std::vector<double> temperatures = {1, 2, 4, 8};
  Augment cache_augment = Augment::shift_flip;
  std::uint64_t cache_seed = 0;
  bool half = false;
  int compress = 0;   ///< gzip level of the cache's datasets (0: none)
  int64_t top_k = 0;  ///< a top-k cache's K (0: whole rows)
  TopKRule top_k_rule = TopKRule::uniform;
  /// Shards per cache (1: none): n `cache --shard i/n` stages and a merge stage, so that on a
  /// cluster one teacher's logits are computed on n nodes at once.
  int cache_shards = 1;
  /// Examples per cache chunk (the HDF5 chunk, the teacher's batch, the unit of shards).
  int64_t cache_chunk = kDefaultChunk;

  std::vector<std::string> student_archs = {"mlp:800-800"};
  ModelInit student_init = ModelInit::seed;  ///< file: torchscript:FILE students' own weights
  std::string student_input = "normalized";  ///< torchscript:FILE students' images: or unit
  std::vector<double> student_temperatures = {1, 2, 4, 8};
  std::vector<double> alphas = {1};
  double student_temperature = 0;  ///< T_s (0: same as T)
  std::vector<std::uint64_t> student_seeds = {0};
  int64_t train_subset = 0;
  /// Students evaluate the validation split every N epochs and after the last (0: last only).
  int64_t student_val_every = kDefaultValEvery;
  TrainOptions student_train = TrainOptions().epochs(30).lr(0.05);

  bool baseline_hard = true;
  std::vector<double> baseline_smoothing = {0.1};

  /// The report's penultimate-layer picture: three classes, examples of each per split.
  std::array<int64_t, 3> projection_classes = {0, 1, 2};
  int64_t projection_examples = 100;

  int jobs = 1;
  int threads = 0;
  /// Student seeds added in rounds (0: off, the listed seeds only): up to this many seeds, each
  /// round adding one for the verdict's comparisons still open, until each is decided
  /// (pipelines/report/study_decisions.h). The listed seeds (0 … n-1) are the first round.
  int64_t max_seeds = 0;
  /// The sequential rule's equivalence margin, in accuracy points.
  double precision = 0.3;
  DeviceChoice device = DeviceChoice::cpu;  ///< where every stage runs
  ExecutorKind executor = ExecutorKind::local;
  std::vector<std::string> sbatch;  ///< extra sbatch options of every job (slurm executor)
};

/// Reads and checks a study file. ConfigError "FILE:LINE: section.key: what was expected" for an
/// unknown key, a value of the wrong type, an empty list or an impossible combination.
Study load_study(const std::filesystem::path& file);

/// The study as a canonical INI text, every value spelled out: written to the run directory.
std::string to_ini(const Study& study);

}  // namespace kd
