#include "pipelines/study/stages.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/core/names.h"
#include "lib/core/number_text.h"
#include "pipelines/report/results_reader.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

std::string num(double v) { return exact_text(v); }

// "mlp:800-800" → "mlp800-800": spec strings as folder names. A long spec (a deep model) keeps
// its first 40 characters and a hash of the whole, so a folder name stays far below the file
// system's 255 bytes and two long specs never share a folder.
std::string slug(const std::string& spec) {
  std::string out;
  for (char c : spec) out += (c == ':' ? "" : std::string(1, c));
  if (out.size() <= 48) return out;
  Hasher h;
  h.update(spec);
  return out.substr(0, 40) + "-" + h.hex().substr(0, 12);
}

std::vector<std::string> data_args(const Study& s) {
  std::vector<std::string> a = {"--dataset", s.data.name(), "--val-size",
                                std::to_string(s.data.val_size())};
  if (!s.data.data_dir().empty()) a.insert(a.end(), {"--data-dir", s.data.data_dir().string()});
  const ImageFormat& f = s.data.format();
  if (f.height) a.insert(a.end(), {"--image-size", image_size_text(f)});
  if (f.channels) a.insert(a.end(), {"--channels", std::to_string(f.channels)});
  return a;
}

// What identifies the user's own data between runs, so that changed files rerun every stage: an
// array file's content; an image folder's file names, sizes and modification times (hashing
// every image on each run would cost more than most stages). Built-ins are fixed: "".
std::string data_identity(const DataOptions& data) {
  const DatasetKind kind = dataset_kind(data);
  if (kind == DatasetKind::builtin) return "";
  if (kind == DatasetKind::array_file) return hash_file(data.name());
  Hasher h;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(data.name())) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    h.update(fs::relative(f, data.name()).string());
    h.update_value(static_cast<int64_t>(fs::file_size(f)));
    h.update_value(static_cast<int64_t>(fs::last_write_time(f).time_since_epoch().count()));
  }
  return h.hex();
}

std::vector<std::string> train_args(const TrainOptions& t) {
  return {"--epochs",       std::to_string(t.epochs()),
          "--batch-size",   std::to_string(t.batch_size()),
          "--lr",           num(t.lr()),
          "--momentum",     num(t.momentum()),
          "--weight-decay", num(t.weight_decay()),
          "--schedule",     to_string(t.schedule())};
}

void append(std::vector<std::string>& a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

// A student stage, distilled or baseline: `args` then the options every student shares.
Stage student_stage(const Study& s, std::string id, StageKind kind, std::vector<std::string> args,
                    const std::string& arch, std::uint64_t seed) {
  Stage st;
  st.id = std::move(id);
  st.kind = kind;
  st.args = std::move(args);
  append(st.args, {"--arch", arch, "--train-subset", std::to_string(s.train_subset), "--seed",
                   std::to_string(seed)});
  // Only when it is not the default, so that earlier runs keep their hashes.
  if (s.student_val_every != kDefaultValEvery)
    append(st.args, {"--val-every", std::to_string(s.student_val_every)});
  append(st.args, data_args(s));
  append(st.args, train_args(s.student_train));
  st.out = st.id;
  st.output = st.id + "/metrics.json";
  st.check_output = [id = st.id](const fs::path& m) { read_student_metrics(m, id); };
  return st;
}

// The stages of one study, added in dependency order, each hashed as it is added.
class Planner {
 public:
  explicit Planner(const Study& s) : s_(s), data_id_(data_identity(s.data)) {}

  std::vector<Stage> plan() {
    for (double eps : s_.teacher_smoothing) {
      for (std::uint64_t tseed : s_.teacher_seeds) trained_teacher(eps, tseed);
    }
    for (std::size_t i = 0; i < s_.torchscript.size(); ++i) torchscript_teacher(i);
    baselines();
    return std::move(stages_);
  }

 private:
  void add(Stage st) {
    // The naming policy (lib/core/names.h): a stage folder holds only what is safe in a path, a
    // SLURM directive and a job name. A study whose values would break it is a bad study.
    check<ConfigError>(is_stage_folder(st.id), s_.file.string(), ": stage '", escaped(st.id),
                       "' would not be a safe folder name (letters, digits and . _ - + = only, "
                       "at most 128 bytes a component)");
    // Two values that name one stage (student.arch = mlp:8 mlp:8) would run it twice at once.
    check<ConfigError>(hash_of_.count(st.id) == 0, s_.file.string(), ": stage '", st.id,
                       "' is planned twice: a list of the study names one value twice");
    Hasher h;
    h.update(to_string(st.kind));
    // Only when there is one, so that built-in studies keep the hashes of earlier runs.
    if (!data_id_.empty()) h.update(data_id_);
    for (const auto& a : st.args) h.update(a);
    for (const auto& d : st.deps) h.update(hash_of_.at(d));
    for (const auto& f : st.input_files) h.update(hash_file(f));
    st.input_hash = h.hex();
    hash_of_[st.id] = st.input_hash;
    stages_.push_back(std::move(st));
  }

  // Options left at the command's default stay off the command lines, so that a key added to
  // study files does not change the input hash of every finished stage.
  std::vector<std::string> mi_args() const {
    std::vector<std::string> a = {"--mi-examples", std::to_string(s_.mi_examples), "--mi-views",
                                  std::to_string(s_.mi_views)};
    if (s_.mi_classes != Study().mi_classes) {
      append(a, {"--mi-classes",
                 std::to_string(s_.mi_classes[0]) + "," + std::to_string(s_.mi_classes[1])});
    }
    return a;
  }

  void trained_teacher(double eps, std::uint64_t tseed) {
    Stage teach;
    teach.args = {"teach",
                  "--arch",
                  s_.teacher_arch,
                  "--smoothing",
                  num(eps),
                  "--seed",
                  std::to_string(tseed),
                  "--augment",
                  to_string(s_.teacher_train.augment())};
    append(teach.args, mi_args());
    append(teach.args, data_args(s_));
    append(teach.args, train_args(s_.teacher_train));
    teacher("eps" + num(eps) + "-seed" + std::to_string(tseed), teach, {});
  }

  // Teachers trained elsewhere: evaluated, not trained; the file's content is part of the hash.
  void torchscript_teacher(std::size_t i) {
    const double eps = s_.torchscript_smoothing[i];
    Stage teach;
    teach.args = {"teach",  "--torchscript", s_.torchscript[i].string(),           "--smoothing",
                  num(eps), "--augment",     to_string(s_.teacher_train.augment())};
    if (s_.torchscript_input != "normalized") append(teach.args, {"--input", s_.torchscript_input});
    append(teach.args, mi_args());
    append(teach.args, data_args(s_));
    teach.input_files = {s_.torchscript[i]};
    teacher("eps" + num(eps) + "-torchscript", teach,
            s_.torchscript_input == "normalized"
                ? std::vector<std::string>{}
                : std::vector<std::string>{"--input", s_.torchscript_input});
  }

  // A teacher's stages: its teach stage, its cache, and the students learning from it.
  void teacher(const std::string& tname, Stage teach, const std::vector<std::string>& cache_extra) {
    teach.id = "teach/" + tname;
    teach.kind = StageKind::teach;
    teach.out = teach.id;
    teach.output = teach.id + "/metrics.json";
    teach.check_output = [id = teach.id](const fs::path& m) { read_teacher_metrics(m, id); };
    add(teach);
    const Stage cache = cache_stages(tname, teach, cache_extra);
    students(tname, cache);
  }

  // The cache of a teacher, one stage or (sharded) n shard stages and the merge under the
  // cache's own id and output: the students read the same file either way.
  Stage cache_stages(const std::string& tname, const Stage& teach,
                     const std::vector<std::string>& cache_extra) {
    Stage cache;
    cache.id = "cache/" + tname;
    cache.kind = StageKind::cache;
    cache.deps = {teach.id};
    cache.args = {"cache",
                  "--teacher",
                  teach.out,
                  "--split",
                  "train",
                  "--views",
                  std::to_string(s_.views),
                  "--augment",
                  to_string(s_.cache_augment),
                  "--seed",
                  std::to_string(s_.cache_seed),
                  "--temperatures"};
    for (double t : s_.temperatures) cache.args.push_back(num(t));
    if (s_.half) cache.args.push_back("--half");
    if (s_.compress > 0) append(cache.args, {"--compress", std::to_string(s_.compress)});
    // Only when not the default, so that the stages of earlier runs keep their input hashes.
    if (s_.cache_chunk != kDefaultChunk)
      append(cache.args, {"--chunk", std::to_string(s_.cache_chunk)});
    append(cache.args, cache_extra);
    append(cache.args, data_args(s_));
    cache.out = cache.id + "/train.h5";
    cache.output = cache.out;
    if (s_.cache_shards <= 1) {
      add(cache);
      return cache;
    }
    Stage merge = cache;
    merge.args = {"cache-merge"};
    if (s_.compress > 0) append(merge.args, {"--compress", std::to_string(s_.compress)});
    merge.deps.clear();
    for (int i = 0; i < s_.cache_shards; ++i) {
      const std::string part = std::to_string(i) + "/" + std::to_string(s_.cache_shards);
      Stage shard = cache;
      shard.id = cache.id + "/shard-" + std::to_string(i) + "of" + std::to_string(s_.cache_shards);
      append(shard.args, {"--shard", part});
      shard.out = shard.id + "/train.h5";
      shard.output = shard.out;
      add(shard);
      merge.deps.push_back(shard.id);
      merge.args.push_back(shard.out);
    }
    add(merge);
    return merge;
  }

  void students(const std::string& tname, const Stage& cache) {
    for (const std::string& arch : s_.student_archs) {
      for (double t : s_.student_temperatures) {
        for (double alpha : s_.alphas) {
          for (std::uint64_t sseed : s_.student_seeds) {
            Stage st =
                student_stage(s_,
                              "distill/" + tname + "/" + slug(arch) + "-T" + num(t) + "-a" +
                                  num(alpha) + "-seed" + std::to_string(sseed),
                              StageKind::distill,
                              {"distill", "--cache", cache.out, "--temperature", num(t), "--alpha",
                               num(alpha), "--student-temperature", num(s_.student_temperature)},
                              arch, sseed);
            st.deps = {cache.id};
            add(st);
          }
        }
      }
    }
  }

  // Baselines see the same views as the distilled students, drawn from the same recipe; they
  // need no teacher, so a change to the teachers leaves them alone.
  void baselines() {
    std::vector<std::pair<std::string, double>> kinds;
    if (s_.baseline_hard) kinds.emplace_back("hard", 0.0);
    for (double eps : s_.baseline_smoothing) kinds.emplace_back("smooth", eps);
    for (const auto& [kind, eps] : kinds) {
      for (const std::string& arch : s_.student_archs) {
        for (std::uint64_t sseed : s_.student_seeds) {
          const std::string name = kind == "hard" ? "hard" : "smooth" + num(eps);
          add(student_stage(s_,
                            "baseline/" + name + "/" + slug(arch) + "-seed" + std::to_string(sseed),
                            StageKind::baseline,
                            {"distill", "--baseline", kind, "--smoothing", num(eps), "--views",
                             std::to_string(s_.views), "--augment", to_string(s_.cache_augment),
                             "--view-seed", std::to_string(s_.cache_seed)},
                            arch, sseed));
        }
      }
    }
  }

  const Study& s_;
  const std::string data_id_;
  std::vector<Stage> stages_;
  std::map<std::string, std::string> hash_of_;
};

}  // namespace

std::vector<Stage> plan_stages(const Study& s) { return Planner(s).plan(); }

}  // namespace kd
