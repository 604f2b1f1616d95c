#include "pipelines/study/stages.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/file_identity.h"
#include "lib/core/hash.h"
#include "lib/core/names.h"
#include "lib/core/number_text.h"
#include "lib/models/zoo.h"
#include "pipelines/cli/stage_options.h"
#include "pipelines/report/results_reader.h"
#include "pipelines/study/stage_identity.h"

namespace kd {

namespace fs = std::filesystem;
using cli::cache_argv;
using cli::distill_argv;
using cli::teach_argv;

namespace {

// Stage ids name values as stage arguments do: the shortest text that reads back the same.
std::string num(double v) { return exact_text(v); }

std::vector<std::string> command(const char* name, std::vector<std::string> argv) {
  argv.insert(argv.begin(), name);
  return argv;
}

// The stages of one study, added in dependency order, each hashed as it is added. Each stage's
// options are built typed, checked as its command will check them, and turned into argv by
// that command's own table (pipelines/cli/stage_options.h).
class Planner {
 public:
  explicit Planner(const Study& s)
      : s_(s), data_(canonical(s.data)), data_id_(data_identity(data_)) {
    describe_dataset(data_);  // the data once; each stage's other options below
  }

  std::vector<Stage> plan(const std::vector<RoundStudent>& rounds) {
    for (double eps : s_.teacher_smoothing) {
      for (std::uint64_t tseed : s_.teacher_seeds) trained_teacher(eps, tseed);
    }
    for (std::size_t i = 0; i < s_.torchscript.size(); ++i) torchscript_teacher(i);
    baselines();
    for (const RoundStudent& r : rounds) {
      if (!r.teacher_smoothing) {
        baseline(r.baseline, r.smoothing, s_.student_archs.at(0), r.seed);
        continue;
      }
      const auto it = cache_of_.find(*r.teacher_smoothing);
      check<Error>(it != cache_of_.end(), "study rounds: no teacher with label smoothing ",
                   *r.teacher_smoothing);
      distilled(it->second.first, it->second.second, s_.student_archs.at(0), r.temperature,
                s_.alphas.at(0), r.seed);
    }
    return std::move(stages_);
  }

  std::vector<Stage> plan(const JudgePlan& j) {
    for (std::size_t i = 0; i < j.teachers.size(); ++i) {
      const JudgedTeacher& t = j.teachers[i];
      Stage cache;
      if (!t.torchscript.empty()) {
        TeachOptions o;
        o.data(data_)
            .arch("")
            .torchscript(t.torchscript)
            .input(s_.torchscript_input)
            .smoothing(t.smoothing)
            .train(TrainOptions().augment(s_.teacher_train.augment()))
            .mi(mi_options());
        const Stage teach = teach_stage(t.name, o, {t.torchscript});
        cache = cache_stages(t.name, teach.out, o.input(), {teach.id}, {});
      } else {
        cache =
            cache_stages(t.name, t.directory, s_.torchscript_input, {}, {t.directory / "model.pt"});
      }
      for (const JudgedStudents& group : j.students.at(i)) {
        for (std::uint64_t seed : group.seeds) {
          distilled(t.name, cache, s_.student_archs.at(0), group.temperature, s_.alphas.at(0),
                    seed);
        }
      }
    }
    for (std::uint64_t seed : j.baseline_seeds)
      baseline(Baseline::hard, 0.0, s_.student_archs.at(0), seed);
    return std::move(stages_);
  }

 private:
  // A stage whose options its command would refuse is a bad study: say so now, before any stage
  // runs, naming the study and the stage.
  template <typename Options>
  void check_options(const Options& o, const std::string& id) const {
    try {
      o.validate_settings();
    } catch (const ConfigError& e) {
      throw ConfigError(s_.file.string() + ": stage '" + id + "': " + e.what());
    }
  }

  void add(Stage st) {
    // The naming policy (lib/core/names.h): a stage folder holds only what is safe in a path, a
    // SLURM directive and a job name. A study whose values would break it is a bad study.
    check<ConfigError>(is_stage_folder(st.id), s_.file.string(), ": stage '", escaped(st.id),
                       "' would not be a safe folder name (letters, digits and . _ - + = only, "
                       "at most 128 bytes a component)");
    // Two values that name one stage (student.arch = mlp:8 mlp:8) would run it twice at once.
    check<ConfigError>(hash_of_.count(st.id) == 0, s_.file.string(), ": stage '", st.id,
                       "' is planned twice: a list of the study names one value twice");
    // The stage's identity: its canonical options (every identity field, none of execution),
    // what its inputs are, and the identities of the stages it reads.
    Hasher h;
    h.update(to_string(st.kind));
    h.update(data_id_);
    for (const auto& a : st.args) h.update(a);
    for (const auto& d : st.deps) h.update(hash_of_.at(d));
    for (const auto& f : st.input_files) h.update(stored_file_hash(f));
    st.input_hash = h.hex();
    hash_of_[st.id] = st.input_hash;
    stages_.push_back(std::move(st));
  }

  MiProbeOptions mi_options() const {
    return MiProbeOptions()
        .class_a(s_.mi_classes[0])
        .class_b(s_.mi_classes[1])
        .examples_per_class(s_.mi_examples)
        .views(s_.mi_views);
  }

  void trained_teacher(double eps, std::uint64_t tseed) {
    TeachOptions o;
    o.data(data_)
        .arch(s_.teacher_arch)
        .init(s_.teacher_init)
        .input(s_.teacher_input)
        .smoothing(eps)
        .train(TrainOptions(s_.teacher_train).seed(tseed))
        .mi(mi_options());
    teacher("eps" + num(eps) + "-seed" + std::to_string(tseed), o, model_files(s_.teacher_arch));
  }

  // The file of a TorchScript architecture: its content is part of the identity of the stages
  // that train it.
  static std::vector<fs::path> model_files(const std::string& arch) {
    const ModelSpec spec = parse_model_spec(arch);
    return spec.family == "torchscript" ? std::vector<fs::path>{spec.file}
                                        : std::vector<fs::path>{};
  }

  // Teachers trained elsewhere: evaluated, not trained; the file's content is part of the hash.
  void torchscript_teacher(std::size_t i) {
    TeachOptions o;
    o.data(data_)
        .arch("")
        .torchscript(s_.torchscript[i])
        .input(s_.torchscript_input)
        .smoothing(s_.torchscript_smoothing[i])
        .train(TrainOptions().augment(s_.teacher_train.augment()))
        .mi(mi_options());
    teacher("eps" + num(o.smoothing()) + "-torchscript", o, {s_.torchscript[i]});
  }

  // A teacher's stages: its teach stage, its cache, and the students learning from it.
  void teacher(const std::string& tname, TeachOptions o,
               std::vector<std::filesystem::path> input_files) {
    const std::string input = o.input();
    const Stage teach = teach_stage(tname, o, std::move(input_files));
    const Stage cache = cache_stages(tname, teach.out, input, {teach.id}, {});
    cache_of_[o.smoothing()] = {tname, cache};
    students(tname, cache);
  }

  Stage teach_stage(const std::string& tname, TeachOptions o,
                    std::vector<std::filesystem::path> input_files) {
    Stage teach;
    teach.id = "teach/" + tname;
    teach.kind = StageKind::teach;
    teach.out = teach.id;
    teach.output = teach.id + "/metrics.json";
    o.out(teach.out);
    check_options(o, teach.id);
    teach.args = command("teach", teach_argv(o));
    teach.ranks = static_cast<int>(o.train().ranks());
    teach.input_files = std::move(input_files);
    teach.check_output = [id = teach.id](const fs::path& m) { read_teacher_metrics(m, id); };
    add(teach);
    return teach;
  }

  // The cache of a teacher, one stage or (sharded) n shard stages and the merge under the
  // cache's own id and output: the students read the same file either way.
  Stage cache_stages(const std::string& tname, const fs::path& teacher, const std::string& input,
                     std::vector<std::string> deps, std::vector<fs::path> input_files) {
    Stage cache;
    cache.id = "cache/" + tname;
    cache.kind = StageKind::cache;
    cache.deps = std::move(deps);
    cache.input_files = std::move(input_files);
    cache.out = cache.id + "/train.h5";
    cache.output = cache.out;
    CacheOptions o;
    o.data(data_)
        .teacher(teacher)
        .input(input)
        .views(s_.views)
        .temperatures(s_.temperatures)
        .augment(s_.cache_augment)
        .seed(s_.cache_seed)
        .half(s_.half)
        .top_k(s_.top_k)
        .top_k_rule(s_.top_k_rule)
        .compress(s_.compress)
        .chunk(s_.cache_chunk)
        .out(cache.out);
    check_options(o, cache.id);
    if (s_.cache_shards <= 1) {
      cache.args = command("cache", cache_argv(o));
      add(cache);
      return cache;
    }
    Stage merge = cache;
    merge.args = {"cache-merge", "--compress", std::to_string(s_.compress)};
    merge.deps.clear();
    merge.input_files.clear();
    for (int i = 0; i < s_.cache_shards; ++i) {
      Stage shard = cache;
      shard.id = cache.id + "/shard-" + std::to_string(i) + "of" + std::to_string(s_.cache_shards);
      shard.args =
          command("cache", cache_argv(CacheOptions(o).shard_index(i).shard_count(s_.cache_shards)));
      shard.out = shard.id + "/train.h5";
      shard.output = shard.out;
      add(shard);
      merge.deps.push_back(shard.id);
      merge.args.push_back(shard.out);
    }
    add(merge);
    return merge;
  }

  // The options every student shares, distilled or baseline.
  DistillOptions student_options(const std::string& arch, std::uint64_t sseed) const {
    DistillOptions o;
    o.data(data_)
        .arch(arch)
        .init(s_.student_init)
        .input(s_.student_input)
        .train_subset(s_.train_subset)
        .val_every(s_.student_val_every)
        .train(TrainOptions(s_.student_train).seed(sseed));
    return o;
  }

  void add_student(std::string id, StageKind kind, DistillOptions o,
                   std::vector<std::string> deps) {
    Stage st;
    st.id = std::move(id);
    st.kind = kind;
    st.deps = std::move(deps);
    st.out = st.id;
    st.output = st.id + "/metrics.json";
    o.out(st.out);
    check_options(o, st.id);
    st.args = command("distill", distill_argv(o));
    st.ranks = static_cast<int>(o.train().ranks());
    st.input_files = model_files(o.arch());
    st.check_output = [id = st.id](const fs::path& m) { read_student_metrics(m, id); };
    add(std::move(st));
  }

  void students(const std::string& tname, const Stage& cache) {
    for (const std::string& arch : s_.student_archs) {
      for (double t : s_.student_temperatures) {
        for (double alpha : s_.alphas) {
          for (std::uint64_t sseed : s_.student_seeds)
            distilled(tname, cache, arch, t, alpha, sseed);
        }
      }
    }
  }

  void distilled(const std::string& tname, const Stage& cache, const std::string& arch, double t,
                 double alpha, std::uint64_t sseed) {
    DistillOptions o = student_options(arch, sseed);
    o.cache(cache.out).temperature(t).alpha(alpha).student_temperature(s_.student_temperature);
    add_student("distill/" + tname + "/" + stage_slug(arch) + "-T" + num(t) + "-a" + num(alpha) +
                    "-seed" + std::to_string(sseed),
                StageKind::distill, o, {cache.id});
  }

  // Baselines see the same views as the distilled students, drawn from the same recipe; they
  // need no teacher, so a change to the teachers leaves them alone.
  void baselines() {
    std::vector<std::pair<Baseline, double>> kinds;
    if (s_.baseline_hard) kinds.emplace_back(Baseline::hard, 0.0);
    for (double eps : s_.baseline_smoothing) kinds.emplace_back(Baseline::smooth, eps);
    for (const auto& [kind, eps] : kinds) {
      for (const std::string& arch : s_.student_archs) {
        for (std::uint64_t sseed : s_.student_seeds) baseline(kind, eps, arch, sseed);
      }
    }
  }

  void baseline(Baseline kind, double eps, const std::string& arch, std::uint64_t sseed) {
    DistillOptions o = student_options(arch, sseed);
    o.baseline(kind).smoothing(eps).views({s_.views, s_.cache_augment, s_.cache_seed});
    const std::string name = kind == Baseline::hard ? "hard" : "smooth" + num(eps);
    add_student("baseline/" + name + "/" + stage_slug(arch) + "-seed" + std::to_string(sseed),
                StageKind::baseline, o, {});
  }

  const Study& s_;
  const DataOptions data_;
  const std::string data_id_;
  std::vector<Stage> stages_;
  std::map<std::string, std::string> hash_of_;
  /// Each teacher's folder name and cache, by ε (the last teacher seed's, one in a study with
  /// rounds).
  std::map<double, std::pair<std::string, Stage>> cache_of_;
};

}  // namespace

std::vector<Stage> plan_stages(const Study& s, const std::vector<RoundStudent>& rounds) {
  return Planner(s).plan(rounds);
}

std::vector<Stage> plan_judge_stages(const Study& recipe, const JudgePlan& plan) {
  return Planner(recipe).plan(plan);
}

}  // namespace kd
