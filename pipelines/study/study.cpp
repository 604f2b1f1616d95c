#include "pipelines/study/study.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lib/core/error.h"
#include "lib/core/names.h"
#include "lib/core/number_text.h"
#include "lib/models/zoo.h"
#include "pipelines/study/study_reader.h"

namespace kd {

namespace fs = std::filesystem;
namespace po = boost::program_options;

using study_file::join;
using study_file::join_any;
using study_file::join_paths;
using study_file::key_lines;
using study_file::keys;
using study_file::Reader;

namespace {

// Each section of the file into its part of `s`, checked as it is read.

void read_study_section(const Reader& r, Study& s) {
  s.name = r.single("study.name");
  // The run goes to runs/NAME: one folder, not a path out of runs/.
  if (s.name.size() > 100 || s.name == "." || s.name == ".." ||
      s.name.find_first_of("/\\") != std::string::npos || !path_text_problem(s.name).empty()) {
    r.fail("study.name",
           "expected one folder name (valid UTF-8 without control characters, no / or \\, not . "
           "or .., at most 100 bytes): the run goes to runs/NAME");
  }
  s.jobs = static_cast<int>(r.one_whole("study.jobs"));
  if (s.jobs < 1) r.fail("study.jobs", "expected at least 1");
  s.threads = static_cast<int>(r.one_whole("study.threads"));
  if (s.threads < 0) r.fail("study.threads", "expected 0 (all cores) or a positive count");
  s.device =
      r.located("study.device", [&] { return parse_enum<DeviceChoice>(r.single("study.device")); });
  s.executor = r.located("study.executor",
                         [&] { return parse_enum<ExecutorKind>(r.single("study.executor")); });
  s.sbatch = r.words("study.sbatch", /*allow_empty=*/true);
  s.max_seeds = r.one_whole("study.max-seeds");
  s.precision = r.one_number("study.precision");
  if (!(s.precision > 0))
    r.fail("study.precision", "expected a positive margin in accuracy points");
}

// Seeds added in rounds: the listed student seeds are the first round, 0 … n-1, and the
// comparisons are between teacher models (one training seed each).
void check_rounds(const Reader& r, const Study& s) {
  if (s.max_seeds == 0) return;
  const auto n = static_cast<int64_t>(s.student_seeds.size());
  if (s.max_seeds < n || s.max_seeds > 1000)
    r.fail("study.max-seeds", "expected 0 (off) or between the " + std::to_string(n) +
                                  " student seeds listed and 1000, got " +
                                  std::to_string(s.max_seeds));
  for (int64_t i = 0; i < n; ++i) {
    if (s.student_seeds[static_cast<std::size_t>(i)] != static_cast<std::uint64_t>(i))
      r.fail("student.seeds", "with study.max-seeds the listed seeds are the first round: 0 1 … " +
                                  std::to_string(n - 1) + " (rounds add " + std::to_string(n) +
                                  ", " + std::to_string(n + 1) + ", …)");
  }
  if (n < 2) r.fail("student.seeds", "with study.max-seeds list at least 2 seeds (0 1)");
  if (s.teacher_seeds.size() > 1 && !s.teacher_smoothing.empty())
    r.fail("study.max-seeds",
           "rounds of student seeds compare teacher models, one training seed each; with several "
           "teacher.seeds compare the recipes over teacher seeds instead (set max-seeds = 0)");
  if (s.baseline_smoothing.empty() && !s.baseline_hard)
    r.fail("study.max-seeds", "rounds compare distillation with training alone: keep a baseline");
}

// A model spec, checked; a TorchScript model's file (torchscript:FILE) relative to the study file
// like every other path in it, and there.
std::string resolved_arch(const Reader& r, const Study& s, const std::string& key,
                          const std::string& text) {
  ModelSpec spec = r.located(key, [&] { return parse_model_spec(text); });
  if (spec.family != "torchscript") return text;
  fs::path file = spec.file;
  const std::string problem = path_text_problem(file.string());
  if (!problem.empty()) r.fail(key, problem + "; expected valid UTF-8 without control characters");
  if (file.is_relative()) file = (s.file.parent_path() / file).lexically_normal();
  if (!fs::is_regular_file(file)) r.fail(key, file.string() + ": no such file");
  return "torchscript:" + file.string();
}

// Returns the dataset's class count, which the teacher and report sections check indices against.
int64_t read_data_section(const Reader& r, Study& s) {
  // One value, which may be a path with spaces: the whole text, not the first word (or one
  // quoted word).
  std::string dataset = r.one_path("data.dataset");
  if (dataset.empty()) r.fail("data.dataset", "a dataset is required");
  // Paths go into every stage's records (JSON) and scripts: the naming policy, up front.
  for (const char* key : {"data.dataset", "data.data-dir"}) {
    const std::string problem = path_text_problem(r.one_path(key));
    if (!problem.empty())
      r.fail(key, problem + "; expected valid UTF-8 without control characters");
  }
  // The user's own data: a path, relative to the study file like every other path in it.
  const auto builtin = dataset_names();
  if (std::count(builtin.begin(), builtin.end(), dataset) == 0 && fs::path(dataset).is_relative())
    dataset = (s.file.parent_path() / dataset).lexically_normal().string();
  fs::path data_dir = r.one_path("data.data-dir");
  if (!data_dir.empty() && data_dir.is_relative()) data_dir = s.file.parent_path() / data_dir;
  ImageFormat format =
      r.located("data.image-size", [&] { return parse_image_size(r.text("data.image-size")); });
  format.channels = r.one_whole("data.channels");
  if (format.channels != 0 && format.channels != 1 && format.channels != 3)
    r.fail("data.channels", "expected 0 (as stored), 1 or 3");
  s.data = DataOptions(dataset)
               .data_dir(data_dir)
               .val_size(r.one_whole("data.val-size"))
               .format(format)
               .standardize(r.flag("data.standardize"))
               .feature_noise(r.one_number("data.feature-noise"));
  if (s.data.val_size() < 0) r.fail("data.val-size", "expected a count >= 0");
  if (!(s.data.feature_noise() >= 0 && s.data.feature_noise() <= 100))
    r.fail("data.feature-noise", "expected a standard deviation in [0, 100]");
  return r.located("data.dataset", [&] { return describe_dataset(s.data); }).classes;
}

void read_teacher_section(const Reader& r, Study& s, int64_t classes) {
  s.teacher_arch = resolved_arch(r, s, "teacher.arch", r.single("teacher.arch"));
  for (const std::string& w : r.words("teacher.torchscript", /*allow_empty=*/true)) {
    if (!path_text_problem(w).empty())
      r.fail("teacher.torchscript", "'" + escaped(w) + "': " + path_text_problem(w) +
                                        "; expected valid UTF-8 without control characters");
    const fs::path f = fs::path(w).is_relative() ? s.file.parent_path() / w : fs::path(w);
    if (!fs::is_regular_file(f)) r.fail("teacher.torchscript", f.string() + ": no such file");
    s.torchscript.push_back(f);
  }
  s.torchscript_smoothing = r.numbers("teacher.torchscript-smoothing", /*allow_empty=*/true);
  if (s.torchscript_smoothing.size() != s.torchscript.size()) {
    r.fail("teacher.torchscript-smoothing",
           "expected the label smoothing of each teacher.torchscript file (" +
               std::to_string(s.torchscript.size()) + "), got " +
               std::to_string(s.torchscript_smoothing.size()) + " values");
  }
  s.torchscript_input = r.single("teacher.torchscript-input");
  if (s.torchscript_input != "normalized" && s.torchscript_input != "unit")
    r.fail("teacher.torchscript-input",
           "expected normalized or unit, got '" + s.torchscript_input + "'");
  s.teacher_smoothing = r.numbers("teacher.smoothing", /*allow_empty=*/!s.torchscript.empty());
  for (const auto& [key, values] :
       {std::pair{"teacher.smoothing", s.teacher_smoothing},
        std::pair{"teacher.torchscript-smoothing", s.torchscript_smoothing}}) {
    for (double e : values) {
      if (!(e >= 0 && e < 1)) r.fail(key, "expected values in [0, 1), got " + join({e}));
    }
  }
  for (double e : s.torchscript_smoothing) {
    if (std::count(s.teacher_smoothing.begin(), s.teacher_smoothing.end(), e) > 0)
      r.fail("teacher.torchscript-smoothing",
             join({e}) + " is also in teacher.smoothing: the report tells teachers apart by ε");
  }
  s.teacher_init =
      r.located("teacher.init", [&] { return parse_enum<ModelInit>(r.single("teacher.init")); });
  s.teacher_input = r.single("teacher.input");
  if (s.teacher_input != "normalized" && s.teacher_input != "unit")
    r.fail("teacher.input", "expected normalized or unit, got '" + s.teacher_input + "'");
  if (!s.teacher_smoothing.empty()) {
    r.located("teacher.init", [&] {
      check_init(s.teacher_arch, s.teacher_init);
      return 0;
    });
  }
  s.teacher_seeds = r.seeds("teacher.seeds");
  s.teacher_train = r.train("teacher");
  s.teacher_train.augment(
      r.located("teacher.augment", [&] { return parse_augment(r.single("teacher.augment")); }));
  s.mi_classes = r.classes<2>("teacher.mi-classes", classes);
  s.mi_examples = r.one_whole("teacher.mi-examples");
  if (s.mi_examples < 1) r.fail("teacher.mi-examples", "expected a positive count");
  s.mi_views = r.one_whole("teacher.mi-views");
  if (s.mi_views < 2) r.fail("teacher.mi-views", "expected at least 2 views");
}

void read_cache_section(const Reader& r, Study& s, int64_t classes) {
  s.views = r.one_whole("cache.views");
  if (s.views < 1) r.fail("cache.views", "expected at least 1 (view 0 is the image itself)");
  s.temperatures = r.numbers("cache.temperatures");
  s.cache_augment =
      r.located("cache.augment", [&] { return parse_augment(r.single("cache.augment")); });
  if (s.views > 1 && s.cache_augment == Augment::none) {
    r.fail("cache.augment", "none with cache.views = " + std::to_string(s.views) +
                                ": every view would be the same image");
  }
  const std::vector<std::uint64_t> cache_seeds = r.seeds("cache.seed");
  if (cache_seeds.size() != 1)
    r.fail("cache.seed", "expected one seed (a cache has one set of views)");
  s.cache_seed = cache_seeds.front();
  s.half = r.flag("cache.half");
  s.compress = static_cast<int>(r.one_whole("cache.compress"));
  if (s.compress < 0 || s.compress > 9) r.fail("cache.compress", "expected a gzip level 0-9");
  s.top_k = r.one_whole("cache.top-k");
  if (s.top_k < 0) r.fail("cache.top-k", "expected 0 (whole rows) or a count of classes");
  if (s.top_k == 0 && s.top_k_rule != TopKRule::uniform)
    r.fail("cache.top-k-rule", to_string(s.top_k_rule) + ": only for a top-k cache (cache.top-k)");
  if (s.top_k > classes) {
    r.fail("cache.top-k",
           std::to_string(s.top_k) + " of the data's " + std::to_string(classes) + " classes");
  }
  s.top_k_rule =
      r.located("cache.top-k-rule", [&] { return parse_top_k_rule(r.single("cache.top-k-rule")); });
  s.cache_chunk = r.one_whole("cache.chunk");
  if (s.cache_chunk < 1) r.fail("cache.chunk", "expected a positive count of examples");
  s.cache_shards = static_cast<int>(r.one_whole("cache.shards"));
  if (s.cache_shards < 1 || s.cache_shards > 1000) {
    r.fail("cache.shards", "expected 1 (no sharding) to 1000 shards");
  }
  for (double t : s.temperatures) {
    if (!(t > 0)) r.fail("cache.temperatures", "expected positive temperatures, got " + join({t}));
  }
}

void read_student_section(const Reader& r, Study& s) {
  s.student_archs.clear();
  for (const std::string& a : r.words("student.arch"))
    s.student_archs.push_back(resolved_arch(r, s, "student.arch", a));
  s.student_init =
      r.located("student.init", [&] { return parse_enum<ModelInit>(r.single("student.init")); });
  s.student_input = r.single("student.input");
  if (s.student_input != "normalized" && s.student_input != "unit")
    r.fail("student.input", "expected normalized or unit, got '" + s.student_input + "'");
  for (const std::string& a : s.student_archs) {
    r.located("student.init", [&] {
      check_init(a, s.student_init);
      return 0;
    });
  }
  s.student_temperatures = r.numbers("student.temperature");
  for (double t : s.student_temperatures) {
    if (!(t > 0)) r.fail("student.temperature", "expected positive temperatures, got " + join({t}));
    // A top-k cache holds its temperatures only (no logits to soften at another).
    if (s.top_k > 0 &&
        std::find(s.temperatures.begin(), s.temperatures.end(), t) == s.temperatures.end()) {
      r.fail("student.temperature",
             join({t}) + " is not among cache.temperatures (" + join(s.temperatures) +
                 "), which a top-k cache (cache.top-k = " + std::to_string(s.top_k) +
                 ") holds alone");
    }
  }
  s.alphas = r.numbers("student.alpha");
  for (double a : s.alphas) {
    if (!(a >= 0 && a <= 1)) r.fail("student.alpha", "expected values in [0, 1], got " + join({a}));
    if (a == 0) r.fail("student.alpha", "0 ignores the teacher: that student is baseline.hard");
  }
  s.student_temperature = r.one_number("student.student-temperature");
  if (s.student_temperature < 0)
    r.fail("student.student-temperature", "expected 0 (same as T) or positive");
  s.student_seeds = r.seeds("student.seeds");
  s.student_val_every = r.one_whole("student.val-every");
  if (s.student_val_every < 0)
    r.fail("student.val-every", "expected 0 (after the last epoch only) or a positive count");
  s.train_subset = r.one_whole("student.train-subset");
  if (s.train_subset < 0) r.fail("student.train-subset", "expected 0 (all) or a positive count");
  s.student_train = r.train("student");
}

void read_baseline_section(const Reader& r, Study& s) {
  s.baseline_hard = r.flag("baseline.hard");
  s.baseline_smoothing = r.numbers("baseline.smoothing", /*allow_empty=*/true);
  for (double e : s.baseline_smoothing) {
    if (!(e > 0 && e < 1))
      r.fail("baseline.smoothing", "expected values in (0, 1), got " + join({e}));
  }
}

void read_report_section(const Reader& r, Study& s, int64_t classes) {
  s.projection_classes = r.classes<3>("report.projection-classes", classes);
  s.projection_examples = r.one_whole("report.projection-examples");
  if (s.projection_examples < 1) r.fail("report.projection-examples", "expected a positive count");
}

}  // namespace

Study load_study(const fs::path& file) {
  check<ConfigError>(fs::is_regular_file(file), file.string(), ": no such study file");
  po::options_description desc;
  for (const study_file::StudyKey& key : keys()) {
    desc.add_options()(key.name.c_str(),
                       po::value<std::string>()->default_value(key.default_value));
  }
  // Also refuses, by line number, a line that is no key, section or comment.
  const std::map<std::string, int> lines = key_lines(file);
  po::variables_map vm;
  std::istringstream in(study_file::study_text(file));
  try {
    po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    const std::string key = e.get_option_name();
    Reader(file, {}, lines).fail(key, "unknown key");
  } catch (const po::error& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
  const Reader r(file, vm, lines);
  // An empty file would silently run the whole default study: say what to do instead.
  check<ConfigError>(!lines.empty(), file.string(),
                     ": the study sets no keys; to run the default study, name "
                     "pipelines/configs/label-smoothing.ini (or set any key here)");

  Study s;
  s.file = fs::absolute(file);
  read_study_section(r, s);
  const int64_t classes = read_data_section(r, s);
  read_teacher_section(r, s, classes);
  read_cache_section(r, s, classes);
  read_student_section(r, s);
  read_baseline_section(r, s);
  read_report_section(r, s, classes);
  check_rounds(r, s);
  return s;
}

std::string to_ini(const Study& s) {
  std::ostringstream o;
  o << "# " << s.file.string() << ", as resolved by kdpipe\n";
  std::string section;
  for (const study_file::StudyKey& key : keys()) {
    const auto dot = key.name.find('.');
    if (key.name.substr(0, dot) != section) {
      o << (section.empty() ? "" : "\n") << "[" << key.name.substr(0, dot) << "]\n";
      section = key.name.substr(0, dot);
    }
    o << key.name.substr(dot + 1) << " = " << key.write(s) << "\n";
  }
  return o.str();
}

}  // namespace kd
