// The one table of a study file's keys: name, default and how a resolved study writes it back.
// `to_ini` is generated from it; study.cpp's section readers read the same names.
#include "lib/models/zoo.h"
#include "pipelines/study/study_reader.h"

namespace kd::study_file {

namespace {

std::string flag(bool v) { return v ? "true" : "false"; }

template <typename T, std::size_t N>
std::string join_array(const std::array<T, N>& v) {
  return join_any(std::vector<T>(v.begin(), v.end()));
}

}  // namespace

const std::vector<StudyKey>& keys() {
  // Teachers default to TrainOptions' own defaults; students to a recipe of their own.
  static const TrainOptions t;
  static const std::vector<StudyKey> all = {
      {"study.name", "study", [](const Study& s) { return s.name; }},
      {"study.jobs", "1", [](const Study& s) { return std::to_string(s.jobs); }},
      {"study.threads", "0", [](const Study& s) { return std::to_string(s.threads); }},
      {"study.device", "cpu", [](const Study& s) { return to_string(s.device); }},
      {"study.executor", "local", [](const Study& s) { return to_string(s.executor); }},
      {"study.sbatch", "", [](const Study& s) { return join_words(s.sbatch); }},
      {"data.dataset", DataOptions().name(), [](const Study& s) { return s.data.name(); }},
      {"data.data-dir", "", [](const Study& s) { return s.data.data_dir().string(); }},
      {"data.val-size", std::to_string(DataOptions().val_size()),
       [](const Study& s) { return std::to_string(s.data.val_size()); }},
      {"data.image-size", "", [](const Study& s) { return image_size_text(s.data.format()); }},
      {"data.channels", "0",
       [](const Study& s) { return std::to_string(s.data.format().channels); }},
      {"teacher.arch", "mlp:1200-1200", [](const Study& s) { return s.teacher_arch; }},
      {"teacher.smoothing", "0 0.1", [](const Study& s) { return join(s.teacher_smoothing); }},
      {"teacher.seeds", "0", [](const Study& s) { return join_any(s.teacher_seeds); }},
      {"teacher.epochs", std::to_string(t.epochs()),
       [](const Study& s) { return std::to_string(s.teacher_train.epochs()); }},
      {"teacher.batch-size", std::to_string(t.batch_size()),
       [](const Study& s) { return std::to_string(s.teacher_train.batch_size()); }},
      {"teacher.lr", exact_text(t.lr()),
       [](const Study& s) { return exact_text(s.teacher_train.lr()); }},
      {"teacher.momentum", exact_text(t.momentum()),
       [](const Study& s) { return exact_text(s.teacher_train.momentum()); }},
      {"teacher.weight-decay", exact_text(t.weight_decay()),
       [](const Study& s) { return exact_text(s.teacher_train.weight_decay()); }},
      {"teacher.schedule", to_string(t.schedule()),
       [](const Study& s) { return to_string(s.teacher_train.schedule()); }},
      {"teacher.augment", "shift-flip",
       [](const Study& s) { return to_string(s.teacher_train.augment()); }},
      {"teacher.torchscript", "", [](const Study& s) { return join_paths(s.torchscript); }},
      {"teacher.torchscript-smoothing", "",
       [](const Study& s) { return join(s.torchscript_smoothing); }},
      {"teacher.torchscript-input", "normalized",
       [](const Study& s) { return s.torchscript_input; }},
      {"teacher.mi-classes", "0 1", [](const Study& s) { return join_array(s.mi_classes); }},
      {"teacher.mi-examples", "300", [](const Study& s) { return std::to_string(s.mi_examples); }},
      {"teacher.mi-views", "5", [](const Study& s) { return std::to_string(s.mi_views); }},
      {"cache.views", "4", [](const Study& s) { return std::to_string(s.views); }},
      {"cache.temperatures", "1 2 4 8", [](const Study& s) { return join(s.temperatures); }},
      {"cache.augment", "shift-flip", [](const Study& s) { return to_string(s.cache_augment); }},
      {"cache.seed", "0", [](const Study& s) { return std::to_string(s.cache_seed); }},
      {"cache.half", "false", [](const Study& s) { return flag(s.half); }},
      {"cache.compress", "0", [](const Study& s) { return std::to_string(s.compress); }},
      {"cache.chunk", "1024", [](const Study& s) { return std::to_string(s.cache_chunk); }},
      {"cache.shards", "1", [](const Study& s) { return std::to_string(s.cache_shards); }},
      {"student.arch", "mlp:800-800", [](const Study& s) { return join_any(s.student_archs); }},
      {"student.temperature", "1 2 4 8",
       [](const Study& s) { return join(s.student_temperatures); }},
      {"student.alpha", "1", [](const Study& s) { return join(s.alphas); }},
      {"student.student-temperature", "0",
       [](const Study& s) { return exact_text(s.student_temperature); }},
      {"student.seeds", "0", [](const Study& s) { return join_any(s.student_seeds); }},
      {"student.train-subset", "0", [](const Study& s) { return std::to_string(s.train_subset); }},
      {"student.val-every", std::to_string(kDefaultValEvery),
       [](const Study& s) { return std::to_string(s.student_val_every); }},
      {"student.epochs", "30",
       [](const Study& s) { return std::to_string(s.student_train.epochs()); }},
      {"student.batch-size", std::to_string(t.batch_size()),
       [](const Study& s) { return std::to_string(s.student_train.batch_size()); }},
      {"student.lr", "0.05", [](const Study& s) { return exact_text(s.student_train.lr()); }},
      {"student.momentum", exact_text(t.momentum()),
       [](const Study& s) { return exact_text(s.student_train.momentum()); }},
      {"student.weight-decay", exact_text(t.weight_decay()),
       [](const Study& s) { return exact_text(s.student_train.weight_decay()); }},
      {"student.schedule", to_string(t.schedule()),
       [](const Study& s) { return to_string(s.student_train.schedule()); }},
      {"baseline.hard", "true", [](const Study& s) { return flag(s.baseline_hard); }},
      {"baseline.smoothing", "0.1", [](const Study& s) { return join(s.baseline_smoothing); }},
      {"report.projection-classes", "0 1 2",
       [](const Study& s) { return join_array(s.projection_classes); }},
      {"report.projection-examples", "100",
       [](const Study& s) { return std::to_string(s.projection_examples); }},
  };
  return all;
}

}  // namespace kd::study_file
