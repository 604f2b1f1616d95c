#include "pipelines/cli/stage_options.h"

#include <cstdlib>

#include "lib/core/error.h"
#include "lib/core/file_identity.h"
#include "lib/core/hash.h"
#include "lib/core/number_text.h"
#include "lib/models/zoo.h"
#include "pipelines/cli/stage_ranks.h"
#include "pipelines/study/stage_identity.h"

namespace kd::cli {

namespace {

std::string num(double v) { return exact_text(v); }

void append(std::vector<std::string>& a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

// "A,B": the MI probe's two classes.
std::pair<int64_t, int64_t> parse_class_pair(const std::string& text) {
  const auto comma = text.find(',');
  try {
    if (comma != std::string::npos) {
      std::size_t used_a = 0, used_b = 0;
      const std::string a = text.substr(0, comma), b = text.substr(comma + 1);
      const int64_t x = std::stoll(a, &used_a), y = std::stoll(b, &used_b);
      if (used_a == a.size() && used_b == b.size()) return {x, y};
    }
  } catch (const std::exception&) {
  }
  throw ConfigError("--mi-classes: expected two class indices as A,B, got '" + text + "'");
}

// "i/n" with 0 <= i < n.
std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  int64_t index = -1, count = 0;
  try {
    std::size_t used_i = 0, used_n = 0;
    if (slash != std::string::npos) {
      index = std::stoll(text.substr(0, slash), &used_i);
      count = std::stoll(text.substr(slash + 1), &used_n);
    }
    if (used_i != slash || used_n != text.size() - slash - 1) count = 0;
  } catch (const std::exception&) {
    count = 0;
  }
  check<ConfigError>(count > 0 && index >= 0 && index < count,
                     "--shard: expected i/n with 0 <= i < n (e.g. 0/4), got '", text, "'");
  return {index, count};
}

po::options_description with_common(const po::options_description& own, bool with_train,
                                    int64_t default_epochs, bool with_augment) {
  po::options_description desc;
  desc.add(own).add(data_options());
  if (with_train) desc.add(train_options(default_epochs, with_augment));
  desc.add(runtime_options());
  if (with_train) desc.add(rank_options());
  return desc;
}

// --memory, of the stages that read a training split too large to hold as they run.
constexpr const char* kMemoryHelp =
    "MB the data may take: an array file whose training split has more than 256 MB of images "
    "and does not fit in half of this is read as the stage runs (the same order and results), "
    "holding at most this much of it with the validation and test splits (a student also reads "
    "its cache in step, within an eighth of this). 0: the memory cgroup's or SLURM's limit, "
    "else half the machine's memory, less 512 MB for the process";

int64_t memory_from(const po::variables_map& vm) {
  const int64_t mb = vm["memory"].as<int64_t>();
  check<ConfigError>(
      mb >= 0 && mb <= (int64_t{1} << 30),
      "--memory: expected megabytes from 0 (the machine's limit) to 1073741824, got ", mb);
  return mb;
}

}  // namespace

// ---- teach -------------------------------------------------------------------------------------

po::options_description teach_table() {
  const TeachOptions d;  // one source of defaults: the options struct
  const MiProbeOptions mi;
  po::options_description t("Teacher");
  t.add_options()("arch", po::value<std::string>()->default_value(d.arch()),
                  "model spec: mlp:W1-W2-..., cnn:W, resnet:20|32|56, alexnet, or "
                  "torchscript:FILE (a model scripted in Python, trained here)")(
      "init", po::value<std::string>()->default_value(to_string(d.init())),
      "the first weights: seed (drawn from --seed) or file (a torchscript:FILE model's own)")(
      "smoothing", po::value<double>()->default_value(d.smoothing(), num(d.smoothing())),
      "label smoothing eps in [0, 1): target (1-eps)*one_hot + eps/K (with --torchscript: the "
      "eps that model was trained with)")(
      "torchscript", po::value<std::string>()->default_value(""),
      "evaluate this TorchScript classifier (trained elsewhere) instead of training a teacher")(
      "input", po::value<std::string>()->default_value(d.input()),
      "a TorchScript model's images (--torchscript, or --arch torchscript:FILE): normalized "
      "(the dataset's mean and std) or unit (pixels in [0, 1])")(
      "out", po::value<std::string>(), "output directory (model.pt, metrics.json, train.log)")(
      "mi-classes",
      po::value<std::string>()->default_value(std::to_string(mi.class_a()) + "," +
                                              std::to_string(mi.class_b())),
      "the two classes whose logit difference the MI probe observes")(
      "mi-examples", po::value<int64_t>()->default_value(mi.examples_per_class()),
      "training examples per class in the MI probe")(
      "mi-views", po::value<int64_t>()->default_value(mi.views()),
      "augmented views per MI example")("memory", po::value<int64_t>()->default_value(0),
                                        kMemoryHelp);
  return t;
}

po::options_description teach_tables() { return with_common(teach_table(), true, 15, true); }

TeachOptions teach_options_from(const po::variables_map& vm) {
  const auto [a, b] = parse_class_pair(vm["mi-classes"].as<std::string>());
  TeachOptions o;
  o.data(data_options_from(vm))
      .arch(vm["arch"].as<std::string>())
      .init(parse_enum<ModelInit>(vm["init"].as<std::string>(), "--init"))
      .smoothing(vm["smoothing"].as<double>())
      .torchscript(vm["torchscript"].as<std::string>())
      .input(vm["input"].as<std::string>())
      .train(train_options_from(vm))
      .mi(MiProbeOptions()
              .class_a(a)
              .class_b(b)
              .examples_per_class(vm["mi-examples"].as<int64_t>())
              .views(vm["mi-views"].as<int64_t>()));
  if (vm.count("out")) o.out(vm["out"].as<std::string>());
  o.data().memory_mb(memory_from(vm));
  return o;
}

std::vector<std::string> teach_argv(const TeachOptions& o) {
  std::vector<std::string> a;
  const TrainOptions& t = o.train();
  if (o.torchscript().empty()) {
    a = {"--arch", o.arch(), "--init", to_string(o.init())};
    if (o.input() != TeachOptions().input()) append(a, {"--input", o.input()});
  } else {
    // Evaluated, not trained: of the training options, only the MI probe's noise matters.
    a = {"--torchscript", o.torchscript().string(), "--input", o.input()};
  }
  append(a, {"--smoothing", num(o.smoothing()), "--mi-classes",
             std::to_string(o.mi().class_a()) + "," + std::to_string(o.mi().class_b()),
             "--mi-examples", std::to_string(o.mi().examples_per_class()), "--mi-views",
             std::to_string(o.mi().views())});
  append(a, data_argv(o.data()));
  if (o.torchscript().empty()) {
    append(a, train_argv(t, true));
  } else {
    append(a, {"--seed", std::to_string(t.seed()), "--augment", to_string(t.augment())});
  }
  return a;
}

// ---- cache -------------------------------------------------------------------------------------

po::options_description cache_table() {
  const CacheOptions d;  // one source of defaults: the options struct
  po::options_description c("Cache");
  c.add_options()("teacher", po::value<std::string>()->default_value(""),
                  "teacher directory written by `kdpipe teach` (or its model.pt)")(
      "torchscript", po::value<std::string>()->default_value(""),
      "a TorchScript classifier instead: forward maps [B, C, H, W] images to [B, K] logits")(
      "input", po::value<std::string>()->default_value(d.input()),
      "how images reach the teacher: normalized (per-channel mean/std) or unit ([0, 1])")(
      "split", po::value<std::string>()->default_value(d.split()), "train, val or test")(
      "views", po::value<int64_t>()->default_value(d.views()),
      "views per example: view 0 is the image itself, views 1..V-1 are augmented")(
      "temperatures", po::value<std::vector<double>>()->multitoken()->default_value({1.0}, "1"),
      "temperatures T whose softmax(z/T) is stored beside the logits")(
      "augment", po::value<std::string>()->default_value(to_string(d.augment())),
      "augmentation of views 1..V-1: none, shift or shift-flip")(
      "seed", po::value<std::string>()->default_value(std::to_string(d.seed())),
      "augmentation seed: view v of example i is the draw (seed, v, i)")(
      "half", po::bool_switch(), "store float16 instead of float32")(
      "top-k", po::value<int64_t>()->default_value(d.top_k()),
      "keep only the K largest probabilities of each row (float16) and their classes, no logits "
      "(0: whole rows)")(
      "top-k-rule", po::value<std::string>()->default_value(to_string(d.top_k_rule())),
      "how a top-k row is made whole: uniform (the missing mass spread over the other classes) "
      "or renormalise (the K values scaled to sum to 1)")(
      "compress", po::value<int>()->default_value(d.compress()), "gzip level 0-9 (0: none)")(
      "chunk", po::value<int64_t>()->default_value(d.chunk()),
      "examples per HDF5 chunk (a training split visited in chunks of 256, see the README's "
      "'Data larger than memory': 256 in place of this default)")("memory", po::value<int64_t>()->default_value(0), kMemoryHelp)(
      "out", po::value<std::string>(), "the cache file to write (.h5)")(
      "shard", po::value<std::string>()->default_value(""),
      "i/n: write shard i (0 to n-1) of n, whole chunks of the split; kdpipe cache-merge joins "
      "them");
  return c;
}

po::options_description cache_tables() { return with_common(cache_table(), false, 0, false); }

CacheOptions cache_options_from(const po::variables_map& vm) {
  CacheOptions o;
  o.data(data_options_from(vm).memory_mb(memory_from(vm)))
      .split(vm["split"].as<std::string>())
      .teacher(vm["teacher"].as<std::string>())
      .torchscript(vm["torchscript"].as<std::string>())
      .input(vm["input"].as<std::string>())
      .views(vm["views"].as<int64_t>())
      .temperatures(vm["temperatures"].as<std::vector<double>>())
      .augment(parse_augment(vm["augment"].as<std::string>()))
      .seed(seed_option(vm, "seed"))
      .half(vm["half"].as<bool>())
      .top_k(vm["top-k"].as<int64_t>())
      .top_k_rule(parse_top_k_rule(vm["top-k-rule"].as<std::string>()))
      .compress(vm["compress"].as<int>())
      .chunk(vm["chunk"].as<int64_t>());
  if (const std::string shard = vm["shard"].as<std::string>(); !shard.empty()) {
    const auto [index, count] = parse_shard(shard);
    o.shard_index(index).shard_count(count);
  }
  if (vm.count("out")) o.out(vm["out"].as<std::string>());
  return o;
}

std::vector<std::string> cache_argv(const CacheOptions& o) {
  std::vector<std::string> a;
  if (!o.teacher().empty()) a = {"--teacher", o.teacher().string()};
  if (!o.torchscript().empty()) append(a, {"--torchscript", o.torchscript().string()});
  append(a, {"--input", o.input(), "--split", o.split(), "--views", std::to_string(o.views()),
             "--augment", to_string(o.augment()), "--seed", std::to_string(o.seed()), "--compress",
             std::to_string(o.compress()), "--chunk", std::to_string(o.chunk())});
  if (o.half()) a.push_back("--half");
  if (o.top_k() > 0)
    append(a, {"--top-k", std::to_string(o.top_k()), "--top-k-rule", to_string(o.top_k_rule())});
  if (o.shard_count() > 0) {
    append(a, {"--shard", std::to_string(o.shard_index()) + "/" + std::to_string(o.shard_count())});
  }
  append(a, data_argv(o.data()));
  a.push_back("--temperatures");  // last: it takes every value up to the next option
  for (double t : o.temperatures()) a.push_back(num(t));
  return a;
}

// ---- distill -----------------------------------------------------------------------------------

po::options_description distill_table() {
  const DistillOptions d;  // one source of defaults: the options struct
  po::options_description s("Student");
  s.add_options()("cache", po::value<std::string>()->default_value(""),
                  "the teacher's logit cache of the training split (written by `kdpipe cache`)")(
      "arch", po::value<std::string>()->default_value(d.arch()),
      "student model spec (a zoo spec, or torchscript:FILE)")(
      "init", po::value<std::string>()->default_value(to_string(d.init())),
      "the first weights: seed (drawn from --seed) or file (a torchscript:FILE model's own)")(
      "input", po::value<std::string>()->default_value(d.input()),
      "a torchscript:FILE student's images: normalized (the dataset's mean and std) or unit "
      "(pixels in [0, 1])")(
      "temperature", po::value<double>()->default_value(d.temperature(), num(d.temperature())),
      "T: teacher targets softmax(z_t/T)")(
      "alpha", po::value<double>()->default_value(d.alpha(), num(d.alpha())),
      "weight of the distillation term; 1-alpha weighs cross-entropy with the labels")(
      "student-temperature",
      po::value<double>()->default_value(d.student_temperature(), num(d.student_temperature())),
      "the student's temperature in the KL term (0: same as T; 1: Mueller et al.)")(
      "baseline", po::value<std::string>()->default_value(to_string(d.baseline())),
      "train alone instead: hard (cross-entropy) or smooth (label smoothing, --smoothing)")(
      "smoothing", po::value<double>()->default_value(d.smoothing(), num(d.smoothing())),
      "eps of --baseline smooth")(
      "train-subset", po::value<int64_t>()->default_value(d.train_subset()),
      "learn from this many training examples only (0: all); the same ones for every student")(
      "val-every", po::value<int64_t>()->default_value(d.val_every()),
      "validate every N epochs and after the last (0: after the last only)")(
      "views", po::value<int64_t>()->default_value(d.views().views),
      "baselines without --cache: views per example (epoch e uses view e mod V)")(
      "augment", po::value<std::string>()->default_value(to_string(d.views().augment)),
      "baselines without --cache: augmentation of views 1..V-1")(
      "view-seed", po::value<std::string>()->default_value(std::to_string(d.views().seed)),
      "baselines without --cache: view v of example i is the draw (view-seed, v, i)")(
      "out", po::value<std::string>(), "output directory (model.pt, metrics.json, train.log)")(
      "memory", po::value<int64_t>()->default_value(0), kMemoryHelp);
  return s;
}

po::options_description distill_tables() {
  return with_common(distill_table(), true, 30, /*with_augment=*/false);
}

DistillOptions distill_options_from(const po::variables_map& vm) {
  DistillOptions o;
  o.data(data_options_from(vm).memory_mb(memory_from(vm)))
      .cache(vm["cache"].as<std::string>())
      .arch(vm["arch"].as<std::string>())
      .init(parse_enum<ModelInit>(vm["init"].as<std::string>(), "--init"))
      .input(vm["input"].as<std::string>())
      .temperature(vm["temperature"].as<double>())
      .alpha(vm["alpha"].as<double>())
      .student_temperature(vm["student-temperature"].as<double>())
      .baseline(parse_baseline(vm["baseline"].as<std::string>()))
      .smoothing(vm["smoothing"].as<double>())
      .train_subset(vm["train-subset"].as<int64_t>())
      .val_every(vm["val-every"].as<int64_t>())
      .views({vm["views"].as<int64_t>(), parse_augment(vm["augment"].as<std::string>()),
              seed_option(vm, "view-seed")})
      .train(train_options_from(vm));
  if (vm.count("out")) o.out(vm["out"].as<std::string>());
  return o;
}

std::vector<std::string> distill_argv(const DistillOptions& o) {
  std::vector<std::string> a;
  if (!o.cache().empty()) a = {"--cache", o.cache().string()};
  append(a, {"--arch", o.arch(), "--init", to_string(o.init()), "--baseline",
             to_string(o.baseline())});
  if (o.input() != DistillOptions().input()) append(a, {"--input", o.input()});
  if (o.baseline() == Baseline::none) {
    append(a, {"--temperature", num(o.temperature()), "--alpha", num(o.alpha()),
               "--student-temperature", num(o.student_temperature())});
  } else {
    append(a, {"--smoothing", num(o.smoothing())});
  }
  if (o.cache().empty()) {  // a cache fixes the views itself
    const ViewRecipe& v = o.views();
    append(a, {"--views", std::to_string(v.views), "--augment", to_string(v.augment), "--view-seed",
               std::to_string(v.seed)});
  }
  append(a, {"--train-subset", std::to_string(o.train_subset()), "--val-every",
             std::to_string(o.val_every())});
  append(a, data_argv(o.data()));
  append(a, train_argv(o.train(), false));
  return a;
}

po::variables_map parse_stage_args(const std::vector<std::string>& args,
                                   const po::options_description& tables) {
  po::variables_map vm;
  parse(args, tables, "", vm);
  return vm;
}

}  // namespace kd::cli
