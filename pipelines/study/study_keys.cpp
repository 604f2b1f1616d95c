// The one table of a study file's keys: name, default and how a resolved study writes it back.
// `to_ini` is generated from it; study.cpp's section readers read the same names.
#include "lib/models/zoo.h"
#include "pipelines/study/study_reader.h"

namespace kd::study_file {

namespace {

std::string flag(bool v) { return v ? "true" : "false"; }

// A path as Reader::one_path reads it back: quoted only when it begins with a quote.
std::string one_path(const std::string& p) {
  return !p.empty() && (p[0] == '\'' || p[0] == '"') ? quote_word(p) : p;
}

template <typename T, std::size_t N>
std::string join_array(const std::array<T, N>& v) {
  return join_any(std::vector<T>(v.begin(), v.end()));
}

}  // namespace

const std::vector<StudyKey>& keys() {
  static const std::vector<StudyKey> all = [] {
    std::vector<StudyKey> keys = {
        {"study.name", [](const Study& s) { return s.name; }},
        {"study.jobs", [](const Study& s) { return std::to_string(s.jobs); }},
        {"study.threads", [](const Study& s) { return std::to_string(s.threads); }},
        {"study.device", [](const Study& s) { return to_string(s.device); }},
        {"study.executor", [](const Study& s) { return to_string(s.executor); }},
        {"study.sbatch", [](const Study& s) { return join_words(s.sbatch); }},
        {"study.max-seeds", [](const Study& s) { return std::to_string(s.max_seeds); }},
        {"study.precision", [](const Study& s) { return exact_text(s.precision); }},
        {"data.dataset", [](const Study& s) { return one_path(s.data.name()); }},
        {"data.data-dir", [](const Study& s) { return one_path(s.data.data_dir().string()); }},
        {"data.val-size", [](const Study& s) { return std::to_string(s.data.val_size()); }},
        {"data.image-size", [](const Study& s) { return image_size_text(s.data.format()); }},
        {"data.channels", [](const Study& s) { return std::to_string(s.data.format().channels); }},
        {"data.standardize", [](const Study& s) { return flag(s.data.standardize()); }},
        {"data.feature-noise", [](const Study& s) { return exact_text(s.data.feature_noise()); }},
        {"teacher.arch", [](const Study& s) { return s.teacher_arch; }},
        {"teacher.init", [](const Study& s) { return to_string(s.teacher_init); }},
        {"teacher.input", [](const Study& s) { return s.teacher_input; }},
        {"teacher.smoothing", [](const Study& s) { return join(s.teacher_smoothing); }},
        {"teacher.seeds", [](const Study& s) { return join_any(s.teacher_seeds); }},
        {"teacher.epochs", [](const Study& s) { return std::to_string(s.teacher_train.epochs()); }},
        {"teacher.batch-size",
         [](const Study& s) { return std::to_string(s.teacher_train.batch_size()); }},
        {"teacher.lr", [](const Study& s) { return exact_text(s.teacher_train.lr()); }},
        {"teacher.momentum", [](const Study& s) { return exact_text(s.teacher_train.momentum()); }},
        {"teacher.weight-decay",
         [](const Study& s) { return exact_text(s.teacher_train.weight_decay()); }},
        {"teacher.schedule", [](const Study& s) { return to_string(s.teacher_train.schedule()); }},
        {"teacher.ranks", [](const Study& s) { return std::to_string(s.teacher_train.ranks()); }},
        {"teacher.augment", [](const Study& s) { return to_string(s.teacher_train.augment()); }},
        {"teacher.torchscript", [](const Study& s) { return join_paths(s.torchscript); }},
        {"teacher.torchscript-smoothing",
         [](const Study& s) { return join(s.torchscript_smoothing); }},
        {"teacher.torchscript-input", [](const Study& s) { return s.torchscript_input; }},
        {"teacher.mi-classes", [](const Study& s) { return join_array(s.mi_classes); }},
        {"teacher.mi-examples", [](const Study& s) { return std::to_string(s.mi_examples); }},
        {"teacher.mi-views", [](const Study& s) { return std::to_string(s.mi_views); }},
        {"cache.views", [](const Study& s) { return std::to_string(s.views); }},
        {"cache.temperatures", [](const Study& s) { return join(s.temperatures); }},
        {"cache.augment", [](const Study& s) { return to_string(s.cache_augment); }},
        {"cache.seed", [](const Study& s) { return std::to_string(s.cache_seed); }},
        {"cache.half", [](const Study& s) { return flag(s.half); }},
        {"cache.compress", [](const Study& s) { return std::to_string(s.compress); }},
        {"cache.top-k", [](const Study& s) { return std::to_string(s.top_k); }},
        {"cache.top-k-rule", [](const Study& s) { return to_string(s.top_k_rule); }},
        {"cache.chunk", [](const Study& s) { return std::to_string(s.cache_chunk); }},
        {"cache.shards", [](const Study& s) { return std::to_string(s.cache_shards); }},
        {"student.arch", [](const Study& s) { return join_any(s.student_archs); }},
        {"student.init", [](const Study& s) { return to_string(s.student_init); }},
        {"student.input", [](const Study& s) { return s.student_input; }},
        {"student.temperature", [](const Study& s) { return join(s.student_temperatures); }},
        {"student.alpha", [](const Study& s) { return join(s.alphas); }},
        {"student.student-temperature",
         [](const Study& s) { return exact_text(s.student_temperature); }},
        {"student.seeds", [](const Study& s) { return join_any(s.student_seeds); }},
        {"student.train-subset", [](const Study& s) { return std::to_string(s.train_subset); }},
        {"student.val-every", [](const Study& s) { return std::to_string(s.student_val_every); }},
        {"student.epochs", [](const Study& s) { return std::to_string(s.student_train.epochs()); }},
        {"student.batch-size",
         [](const Study& s) { return std::to_string(s.student_train.batch_size()); }},
        {"student.lr", [](const Study& s) { return exact_text(s.student_train.lr()); }},
        {"student.momentum", [](const Study& s) { return exact_text(s.student_train.momentum()); }},
        {"student.weight-decay",
         [](const Study& s) { return exact_text(s.student_train.weight_decay()); }},
        {"student.schedule", [](const Study& s) { return to_string(s.student_train.schedule()); }},
        {"student.ranks", [](const Study& s) { return std::to_string(s.student_train.ranks()); }},
        {"baseline.hard", [](const Study& s) { return flag(s.baseline_hard); }},
        {"baseline.smoothing", [](const Study& s) { return join(s.baseline_smoothing); }},
        {"report.projection-classes",
         [](const Study& s) { return join_array(s.projection_classes); }},
        {"report.projection-examples",
         [](const Study& s) { return std::to_string(s.projection_examples); }},
    };
    // Each key's default is what a Study holds as constructed (study.h): it lives there only.
    const Study defaults;
    for (StudyKey& key : keys) key.default_value = key.write(defaults);
    return keys;
  }();
  return all;
}

}  // namespace kd::study_file
