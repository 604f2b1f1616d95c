#include "students/distill.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>
#include <optional>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/number_text.h"
#include "lib/core/run_log.h"
#include "lib/core/runtime.h"
#include "lib/data/example_stream.h"
#include "lib/data/streamed_dataset.h"
#include "lib/losses/losses.h"
#include "lib/metrics/calibration.h"
#include "lib/metrics/information.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"
#include "storage/logit_cache.h"

namespace kd {

namespace fs = std::filesystem;

void DistillOptions::validate() const {
  validate_settings();
  describe_dataset(data());
}

void DistillOptions::validate_settings() const {
  const bool distilling = baseline() == Baseline::none;
  check<ConfigError>(!distilling || !cache().empty(),
                     "--cache: a student learns from a teacher's logit cache (or give --baseline)");
  const std::string t_problem = temperature_problem(temperature());
  check<ConfigError>(t_problem.empty(), "--temperature: ", t_problem);
  check<ConfigError>(alpha() >= 0 && alpha() <= 1, "--alpha: expected a value in [0, 1], got ",
                     alpha());
  check<ConfigError>(
      student_temperature() == 0 || temperature_problem(student_temperature()).empty(),
      "--student-temperature: expected 0 (same as T) or a temperature of at least "
      "1e-06, got ",
      exact_text(student_temperature()));
  check<ConfigError>(smoothing() >= 0 && smoothing() < 1,
                     "--smoothing: expected a label-smoothing value in [0, 1), got ", smoothing());
  check<ConfigError>(baseline() != Baseline::smooth || smoothing() > 0,
                     "--baseline smooth needs --smoothing above 0");
  check<ConfigError>(input() == "normalized" || input() == "unit",
                     "--input: expected normalized or unit, got '", input(), "'");
  check<ConfigError>(input() == "normalized" || arch().rfind("torchscript:", 0) == 0,
                     "--input unit: only a TorchScript model (--arch torchscript:FILE) takes ",
                     "pixels in [0, 1]; '", arch(), "' takes images normalised per channel");
  check<ConfigError>(train_subset() >= 0,
                     "--train-subset: expected 0 (all) or a positive count, got ", train_subset());
  check<ConfigError>(
      val_every() >= 0,
      "--val-every: expected 0 (after the last epoch only) or a positive count, got ", val_every());
  check<ConfigError>(views().views >= 1, "--views: expected at least 1, got ", views().views);
  check<ConfigError>(!out().empty(), "--out: an output directory is required");
  parse_model_spec(arch());
  check_init(arch(), init());
  train().validate();
}

namespace {

// γ of the targets the student learned from, over the examples and views it saw.
double targets_gamma(const DistillOptions& o, const SoftTargets& teacher, int64_t classes,
                     const torch::Tensor& ids, const torch::Tensor& labels, int64_t views_seen) {
  if (o.baseline() == Baseline::hard) return 0.0;
  if (o.baseline() == Baseline::smooth) return o.smoothing();
  double sum = 0;
  constexpr int64_t kBlock = 4096;  // rows at a time: a 1000-class view whole would take GBs
  for (int64_t v = 0; v < views_seen; ++v) {
    ProbabilityMoments moments(classes);
    for (int64_t first = 0; first < ids.numel(); first += kBlock) {
      const int64_t n = std::min(kBlock, ids.numel() - first);
      const torch::Tensor y = labels.narrow(0, first, n);
      const torch::Tensor mixed =
          o.alpha() * teacher.rows(v, ids.narrow(0, first, n), torch::kFloat64) +
          (1 - o.alpha()) * torch::one_hot(y, classes).to(torch::kFloat64);
      moments.add(mixed, y);
    }
    sum += moments.smoothness();
  }
  return sum / static_cast<double>(views_seen);
}

// metrics.json: the result, the options and views it was trained with, and the teacher whose
// cache it learned from. Written last.
void write_metrics(const DistillOptions& options, const ViewRecipe& recipe,
                   const CacheHeader* teacher, int64_t train_subset, const Dataset& data,
                   const StageResult& r) {
  const TrainOptions& train = options.train();
  nlohmann::json metrics = stage_json(r);
  // The order the epochs visited the training split in, and whether it was read as it trained.
  metrics["dataset"] = {{"train_size", data.train_size()},
                        {"order", data.order.text()},
                        {"streamed", data.stream != nullptr}};
  metrics["options"] = {{"dataset", options.data().name()},
                        {"data_dir", options.data().data_dir().string()},
                        {"val_size", options.data().val_size()},
                        {"image_size", image_size_text(options.data().format())},
                        {"channels", options.data().format().channels},
                        {"standardize", options.data().standardize()},
                        {"feature_noise", options.data().feature_noise()},
                        {"cache", options.cache().string()},
                        {"arch", options.arch()},
                        {"init", to_string(options.init())},
                        {"input", options.input()},
                        {"baseline", to_string(options.baseline())},
                        {"smoothing", options.smoothing()},
                        {"temperature", options.temperature()},
                        {"alpha", options.alpha()},
                        {"student_temperature", options.student_temperature()},
                        {"train_subset", train_subset},
                        {"val_every", options.val_every()},
                        {"epochs", train.epochs()},
                        {"batch_size", train.batch_size()},
                        {"lr", train.lr()},
                        {"momentum", train.momentum()},
                        {"weight_decay", train.weight_decay()},
                        {"schedule", to_string(train.schedule())},
                        {"seed", train.seed()},
                        {"device", train.device().str()},
                        {"threads", options.threads()},
                        {"ranks", options.train().ranks()}};
  metrics["views"] = {
      {"views", recipe.views}, {"augment", to_string(recipe.augment)}, {"seed", recipe.seed}};
  if (teacher) {
    metrics["teacher"] = {{"arch", teacher->teacher_arch},
                          {"source", teacher->teacher_source},
                          {"smoothing", teacher->teacher_smoothing},
                          {"seed", teacher->teacher_seed},
                          {"checkpoint_hash", teacher->teacher_checkpoint_hash}};
    // What the student saw of the teacher: whole rows, or the K largest and a rebuilt rest.
    metrics["cache"] = {{"top_k", teacher->top_k},
                        {"top_k_rule", teacher->top_k > 0 ? to_string(teacher->top_k_rule) : ""}};
  }
  write_text_atomically(options.out() / "metrics.json", metrics.dump(2) + "\n");
}

}  // namespace

StageResult distill(const DistillOptions& options, Progress& progress, Communicator* ranks) {
  options.validate();
  std::optional<LogitCache> cache;
  if (!options.cache().empty()) cache.emplace(options.cache());
  // A training split too large to hold is read from its file as the student trains.
  const DataOptions data_options = DataOptions(options.data()).stream(true);
  Dataset data = load_dataset(data_options);
  apply_input_mode(data.info, options.input());  // and the checkpoint records it
  ViewRecipe recipe = options.views();
  SoftTargets teacher_targets;
  if (cache) {
    cache->expect_data(data.info.name, "train", data.train_fingerprint(), data.train_size(),
                       options.data().val_size());
    const CacheHeader& h = cache->header();
    check<StorageError>(h.c == data.info.classes, options.cache().string(), ": field 'C' is ", h.c,
                        ", the data given has ", data.info.classes, " classes");
    // A feature array's views are the cache's own: the same values, the same noise.
    if (data.info.is_features()) {
      check<ConfigError>(h.feature_noise >= 0 && h.standardize == data.info.standardize &&
                             h.feature_noise == data.info.noise,
                         "--cache ", options.cache().string(), ": made from feature values ",
                         h.standardize ? "standardised" : "as stored", " with noise ",
                         exact_text(h.feature_noise), ", not ",
                         data.info.standardize ? "standardised" : "as stored", " with noise ",
                         exact_text(data.info.noise),
                         ": give --standardize and --feature-noise as the cache was made");
    }
    recipe = {h.v, parse_augment(h.augment), static_cast<std::uint64_t>(h.augment_seed)};
    // A training split read from its file as the student trains: the cache too, in step with it
    // (its chunks kept within an eighth of --memory).
    if (options.baseline() == Baseline::none) {
      teacher_targets = data.stream
                            ? cache->streamed_targets(options.temperature(),
                                                      data_memory_of(data_options).bytes / 8)
                            : cache->targets(options.temperature());
    }
  }

  const bool writer = !ranks || ranks->rank() == 0;  // the others write nothing but their log
  // A failed run must not look finished; the cache read is never among what is cleared.
  if (writer) clear_finished_outputs(options.out(), {options.cache()});
  const auto log_ptr =
      writer ? open_run_log(options.out() / "train.log", "distill") : open_stderr_log("distill");
  spdlog::logger& log = *log_ptr;

  const TrainOptions& train = options.train();
  check<ConfigError>(options.train_subset() <= data.train_size(), "--train-subset ",
                     options.train_subset(), ": the training split has only ", data.train_size(),
                     " examples");
  const torch::Tensor ids = training_subset(data.train_size(), options.train_subset());
  const torch::Tensor labels =
      (data.stream ? data.stream->labels() : data.train.labels).index_select(0, ids);
  log.info("kdpipe {} distill: {} from {} on {} of {} training examples, {} views, seed {}",
           version(), options.arch(),
           options.baseline() == Baseline::none
               ? options.cache().string()
               : "nothing (baseline " + to_string(options.baseline()) + ")",
           ids.numel(), data.train_size(), recipe.views, train.seed());
  if (ranks) log.info("rank {} of {}", ranks->rank(), ranks->size());
  if (const std::string note = held_memory_note(data_options, data); !note.empty())
    log.warn("{}", note);
  if (const std::string note = training_order_note(data); !note.empty()) log.info("{}", note);
  if (const std::string note = empty_classes_note(data); !note.empty()) log.warn("{}", note);

  torch::manual_seed(train.seed());
  const InputShape input = data.info.input();
  const Classifier model = make_model(options.arch(), input, data.info.classes, options.init());
  if (const std::string note = initialisation_note(model); !note.empty()) log.warn("{}", note);
  const StudentObjective objective{options.baseline(), options.smoothing(), options.temperature(),
                                   options.alpha(), options.student_temperature()};
  const TeacherTargets teacher = [&](const torch::Tensor& rows, int64_t view) {
    return teacher_targets.rows(view, rows);
  };
  const TeacherTargets teaching = options.baseline() == Baseline::none ? teacher : TeacherTargets{};
  if (!writer) {
    train_student(model, training_set(data), data.info, ids, recipe, objective, teaching, train,
                  nullptr, progress, Checkpointing{{}, options.resume(), nullptr, {}}, ranks);
    log.info("rank {} done", ranks->rank());
    return {};
  }
  const PredictOptions eval_options = PredictOptions().device(train.device());
  std::vector<EpochRecord> epochs;
  const EpochFn on_epoch = [&](const EpochStats& s) {
    EpochRecord row{s, std::nullopt, std::nullopt};
    std::string extra;
    const int64_t every = options.val_every();
    if (data.val.size() > 0 && (s.epoch == s.epochs || (every > 0 && s.epoch % every == 0))) {
      const double val_acc =
          calibration(predict(model, data.val, data.info, eval_options).logits, data.val.labels)
              .accuracy;
      row.val_accuracy = val_acc;
      extra = fmt::format("  val acc {:.4f}", val_acc);
    }
    epochs.push_back(row);
    log.info("{}{}", format_epoch(s), extra);
    progress.epoch_done(s, extra);
  };
  train_student(model, training_set(data), data.info, ids, recipe, objective, teaching, train,
                on_epoch, progress,
                Checkpointing{options.out(), options.resume(), &epochs,
                              [&](int64_t done) {
                                log.info("resuming after epoch {} of {} (its checkpoint: {})", done,
                                         train.epochs(), checkpoint_file(options.out()).string());
                              }},
                ranks);
  double train_seconds = 0;  // over every epoch, those of a run this one resumed included
  for (const EpochRecord& e : epochs) train_seconds += e.stats.seconds;

  const fs::path model_path = options.out() / "model.pt";
  save_model(model, model_meta(options.arch(), data.info), model_path);
  StageResult r;
  r.kind = options.baseline() == Baseline::none ? "student" : "baseline";
  r.evaluation = evaluate_classifier(model, data, eval_options, options.out() / "predictions.pt");
  const int64_t views_seen = std::min(recipe.views, train.epochs());
  r.target_gamma =
      targets_gamma(options, teacher_targets, data.info.classes, ids, labels, views_seen);
  r.model = checkpoint_record(model, options.arch(), model_path);
  r.epochs = std::move(epochs);
  r.timing = {true,           train_seconds,       std::nullopt, options.threads(),
              blas_kernels(), train.device().str()};
  write_metrics(options, recipe, cache ? &cache->header() : nullptr, ids.numel(), data, r);
  log.info("test accuracy {:.4f}, NLL {:.4f}, ECE {:.4f}, target gamma {:.4f}",
           r.evaluation.test.accuracy, r.evaluation.test.nll, r.evaluation.test.ece,
           r.target_gamma);
  remove_checkpoint(options.out());  // finished: nothing to resume
  return r;
}

}  // namespace kd
