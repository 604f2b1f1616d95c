#include "teachers/teach.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/core/run_log.h"
#include "lib/core/runtime.h"
#include "lib/data/example_stream.h"
#include "lib/data/streamed_dataset.h"
#include "lib/losses/losses.h"
#include "lib/metrics/calibration.h"
#include "lib/models/export.h"
#include "lib/models/scripted_classifier.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"

namespace kd {

namespace fs = std::filesystem;

void TeachOptions::validate() const {
  validate_settings();
  describe_dataset(data());
}

void TeachOptions::validate_settings() const {
  check<ConfigError>(smoothing() >= 0 && smoothing() < 1,
                     "--smoothing: expected a label-smoothing value in [0, 1), got ", smoothing());
  check<ConfigError>(!out().empty(), "--out: an output directory is required");
  check<ConfigError>(input() == "normalized" || input() == "unit",
                     "--input: expected normalized or unit, got '", input(), "'");
  check<ConfigError>(
      input() == "normalized" || !torchscript().empty() || arch().rfind("torchscript:", 0) == 0,
      "--input unit: only a TorchScript model (--torchscript FILE, --arch ",
      "torchscript:FILE) takes pixels in [0, 1]; '", arch(),
      "' takes images normalised per channel");
  if (torchscript().empty()) parse_model_spec(arch());
  if (torchscript().empty()) check_init(arch(), init());
  train().validate();
  check<ConfigError>(torchscript().empty() || train().ranks() == 1, "--ranks ", train().ranks(),
                     ": evaluating a TorchScript teacher (--torchscript) trains nothing; it runs ",
                     "in one process");
}

namespace {

nlohmann::json describe(const TeachOptions& o) {
  const TrainOptions& t = o.train();
  const bool scripted = !o.torchscript().empty();
  return {{"dataset", o.data().name()},
          {"data_dir", o.data().data_dir().string()},
          {"val_size", o.data().val_size()},
          {"image_size", image_size_text(o.data().format())},
          {"channels", o.data().format().channels},
          {"standardize", o.data().standardize()},
          {"feature_noise", o.data().feature_noise()},
          {"arch", scripted ? "torchscript" : o.arch()},
          {"init", to_string(o.init())},
          {"torchscript", scripted ? fs::absolute(o.torchscript()).string() : ""},
          {"input", o.input()},
          {"smoothing", o.smoothing()},
          {"epochs", t.epochs()},
          {"batch_size", t.batch_size()},
          {"lr", t.lr()},
          {"momentum", t.momentum()},
          {"nesterov", t.momentum() > 0},
          {"weight_decay", t.weight_decay()},
          {"schedule", to_string(t.schedule())},
          {"seed", t.seed()},
          {"augment", to_string(t.augment())},
          {"device", t.device().str()},
          {"threads", o.threads()},
          {"ranks", t.ranks()}};
}

nlohmann::json dataset_record(const Dataset& data) {
  return {{"name", data.info.name},
          {"classes", data.info.classes},
          {"class_names", data.info.class_names},
          {"shape", data.info.is_features()
                        ? nlohmann::json(data.info.features)
                        : nlohmann::json({data.info.channels, data.info.height, data.info.width})},
          {"inputs", data.info.is_features() ? "features" : "images"},
          {"mean", data.info.mean},
          {"std", data.info.std},
          {"train_size", data.train_size()},
          {"order", data.order.text()},
          {"streamed", data.stream != nullptr},
          {"val_size", data.val.size()},
          {"test_size", data.test.size()},
          {"train_fingerprint", data.train_fingerprint()},
          {"test_fingerprint", data.test.fingerprint()}};
}

// Müller et al. measure MI with the training augmentation as noise; without augmentation
// there is no noise to measure against, so the probe falls back to random shifts.
MiProbeOptions probe_options(const TeachOptions& options) {
  const TrainOptions& train = options.train();
  MiProbeOptions mi = options.mi();
  return mi.augment(train.augment() == Augment::none ? Augment::shift : train.augment())
      .seed(train.seed())
      .device(train.device());
}

// The probe on the training split, held or streamed (its examples read once).
MiProbe make_probe(const Dataset& data, const TeachOptions& options) {
  if (!data.stream) return MiProbe(data.train, data.info, probe_options(options));
  return MiProbe(
      data.stream->labels(), [&](const torch::Tensor& rows) { return data.stream->read(rows); },
      data.info, probe_options(options));
}

// The result of evaluating `model` after training: every teacher's, around the MI curve.
TeachResult evaluated(const Classifier& model, const Dataset& data, const TeachOptions& options,
                      const MiProbe& probe, std::vector<double> mi_curve) {
  TeachResult r;
  r.stage.kind = "teacher";
  r.stage.evaluation =
      evaluate_classifier(model, data, PredictOptions().device(options.train().device()),
                          options.out() / "predictions.pt");
  r.stage.target_gamma = options.smoothing();  // γ of label-smoothed targets is ε itself
  r.stage.timing.threads = options.threads();
  r.stage.timing.blas = blas_kernels();
  r.stage.timing.device = options.train().device().str();
  r.mi_per_epoch = std::move(mi_curve);
  r.mi_final = r.mi_per_epoch.back();
  r.mi_note = probe.note();
  return r;
}

// metrics.json: the result, the options and the data it was measured with. Written last.
void write_metrics(const TeachOptions& options, const Dataset& data, const MiProbe& probe,
                   const TeachResult& r, spdlog::logger& log) {
  nlohmann::json metrics = stage_json(r.stage);
  metrics["options"] = describe(options);
  metrics["dataset"] = dataset_record(data);
  nlohmann::json mi_json = probe.describe();
  if (!r.mi_note.empty()) mi_json["note"] = r.mi_note;
  mi_json["per_epoch"] = r.mi_per_epoch;
  mi_json["final"] = r.mi_final;
  metrics["mutual_information"] = mi_json;
  write_text_atomically(options.out() / "metrics.json", metrics.dump(2) + "\n");
  const CalibrationReport& test = r.stage.evaluation.test;
  log.info("test accuracy {:.4f}, NLL {:.4f}, ECE {:.4f}; final MI {:.3f}", test.accuracy, test.nll,
           test.ece, r.mi_final);
}

// A teacher trained elsewhere: the same evaluation, no training.
TeachResult evaluate_torchscript_teacher(const TeachOptions& options) {
  // A failed run must not look finished; the model evaluated is never among what is cleared.
  clear_finished_outputs(options.out(), {options.torchscript()});
  const auto log_ptr = open_run_log(options.out() / "train.log", "teach");
  spdlog::logger& log = *log_ptr;
  const auto model = load_torchscript(options.torchscript(), options.train().device());
  check_exported_input(options.torchscript(), options.input());
  Dataset data = load_dataset(options.data());
  model->check_compatible(data.info);
  apply_input_mode(data.info, options.input());  // unit: make_batch yields pixels in [0, 1]
  log.info("kdpipe {} teach: evaluating TorchScript teacher {} ({} input) on {}", version(),
           options.torchscript().string(), options.input(), data.info.name);
  const auto start = std::chrono::steady_clock::now();
  const MiProbe probe(data.train, data.info, probe_options(options));
  if (!probe.note().empty()) log.warn("{}", probe.note());
  TeachResult r = evaluated(model, data, options, probe, {probe.measure(model)});
  r.stage.model.arch = "torchscript";
  r.stage.model.source = "torchscript";
  r.stage.model.checkpoint = fs::absolute(options.torchscript()).string();
  r.stage.model.checkpoint_hash = hash_file(options.torchscript());
  r.stage.timing.trained = false;
  r.stage.timing.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_metrics(options, data, probe, r, log);
  return r;
}

}  // namespace

TeachResult teach(const TeachOptions& options, Progress& progress, Communicator* ranks) {
  options.validate();
  if (!options.torchscript().empty()) return evaluate_torchscript_teacher(options);
  const bool writer = !ranks || ranks->rank() == 0;   // the others write nothing but their log
  if (writer) clear_finished_outputs(options.out());  // a failed run must not look finished
  const auto log_ptr =
      writer ? open_run_log(options.out() / "train.log", "teach") : open_stderr_log("teach");
  spdlog::logger& log = *log_ptr;

  // A training split too large to hold is read from its file as the teacher trains.
  const DataOptions data_options = DataOptions(options.data()).stream(true);
  Dataset data = load_dataset(data_options);
  apply_input_mode(data.info, options.input());  // and the checkpoint records it
  const TrainOptions& train = options.train();
  log.info("kdpipe {} teach: {} on {} (train {}, val {}, test {}), smoothing {}, seed {}",
           version(), options.arch(), data.info.name, data.train_size(), data.val.size(),
           data.test.size(), options.smoothing(), train.seed());
  if (const std::string note = held_memory_note(data_options, data); !note.empty())
    log.warn("{}", note);
  if (const std::string note = training_order_note(data); !note.empty()) log.info("{}", note);
  if (const std::string note = empty_classes_note(data); !note.empty()) log.warn("{}", note);

  torch::manual_seed(train.seed());
  const InputShape input = data.info.input();
  const Classifier model = make_model(options.arch(), input, data.info.classes, options.init());
  if (const std::string note = initialisation_note(model); !note.empty()) log.warn("{}", note);
  log.info("{} parameters, device {}, {} threads{}", parameter_count(*model), train.device().str(),
           options.threads(),
           ranks ? fmt::format(", rank {} of {}", ranks->rank(), ranks->size()) : "");
  const double eps = options.smoothing();
  const LossFn loss = [eps](const torch::Tensor& logits, const Batch& batch) {
    return smoothed_cross_entropy(logits, batch.labels, eps);
  };
  if (!writer) {
    train_model(model, training_set(data), data.info, train, loss, nullptr, progress, {},
                Checkpointing{{}, options.resume(), nullptr, {}}, ranks);
    log.info("rank {} done", ranks->rank());
    return {};
  }

  const MiProbe probe = make_probe(data, options);
  if (!probe.note().empty()) log.warn("{}", probe.note());
  const PredictOptions eval_options = PredictOptions().device(train.device());

  std::vector<EpochRecord> epochs;
  const EpochFn on_epoch = [&](const EpochStats& s) {
    const double mi_value = probe.measure(model);
    EpochRecord row{s, std::nullopt, mi_value};
    std::string extra = fmt::format("  MI {:.3f}", mi_value);
    if (data.val.size() > 0) {
      const double val_acc =
          calibration(predict(model, data.val, data.info, eval_options).logits, data.val.labels)
              .accuracy;
      row.val_accuracy = val_acc;
      extra = fmt::format("  val acc {:.4f}", val_acc) + extra;
    }
    epochs.push_back(row);
    log.info("{}{}", format_epoch(s), extra);
    progress.epoch_done(s, extra);
  };
  Checkpointing checkpointing{options.out(), options.resume(), &epochs, [&](int64_t done) {
                                log.info("resuming after epoch {} of {} (its checkpoint: {})", done,
                                         train.epochs(), checkpoint_file(options.out()).string());
                              }};
  train_model(model, training_set(data), data.info, train, loss, on_epoch, progress, {},
              checkpointing, ranks);
  // Over every epoch, those of a run this one resumed included.
  double train_seconds = 0;
  int64_t images = 0;
  for (const EpochRecord& e : epochs) {
    train_seconds += e.stats.seconds;
    images += static_cast<int64_t>(std::llround(e.stats.images_per_second * e.stats.seconds));
  }

  const ModelMeta meta = model_meta(options.arch(), data.info);
  const fs::path model_path = options.out() / "model.pt";
  save_model(model, meta, model_path);

  std::vector<double> curve;
  for (const EpochRecord& row : epochs) curve.push_back(*row.mutual_information);
  TeachResult r = evaluated(model, data, options, probe, std::move(curve));
  r.stage.model = checkpoint_record(model, options.arch(), model_path);
  r.stage.epochs = std::move(epochs);
  r.stage.timing.seconds = train_seconds;
  r.stage.timing.images_per_second = images / std::max(train_seconds, 1e-9);
  write_metrics(options, data, probe, r, log);
  remove_checkpoint(options.out());  // finished: nothing to resume
  return r;
}

}  // namespace kd
