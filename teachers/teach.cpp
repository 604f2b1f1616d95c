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
#include "lib/losses/losses.h"
#include "lib/metrics/calibration.h"
#include "lib/models/scripted_classifier.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"

namespace kd {

namespace fs = std::filesystem;

void TeachOptions::validate() const {
  check<ConfigError>(smoothing() >= 0 && smoothing() < 1,
                     "--smoothing: expected a label-smoothing value in [0, 1), got ", smoothing());
  check<ConfigError>(!out().empty(), "--out: an output directory is required");
  check<ConfigError>(input() == "normalized" || input() == "unit",
                     "--input: expected normalized or unit, got '", input(), "'");
  if (torchscript().empty()) parse_model_spec(arch());
  describe_dataset(data());
  train().validate();
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
          {"arch", scripted ? "torchscript" : o.arch()},
          {"torchscript", scripted ? fs::absolute(o.torchscript()).string() : ""},
          {"input", scripted ? o.input() : "normalized"},
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
          {"threads", o.threads()}};
}

nlohmann::json dataset_record(const Dataset& data) {
  return {{"name", data.info.name},
          {"classes", data.info.classes},
          {"class_names", data.info.class_names},
          {"shape", {data.info.channels, data.info.height, data.info.width}},
          {"mean", data.info.mean},
          {"std", data.info.std},
          {"train_size", data.train.size()},
          {"val_size", data.val.size()},
          {"test_size", data.test.size()},
          {"train_fingerprint", data.train.fingerprint()},
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

// The fields every teacher's metrics.json has, around the evaluation of `model`.
nlohmann::json teacher_metrics(const Classifier& model, const Dataset& data,
                               const TeachOptions& options, const MiProbe& probe,
                               const nlohmann::json& mi_curve) {
  nlohmann::json metrics =
      evaluate_classifier(model, data, PredictOptions().device(options.train().device()),
                          options.out() / "predictions.pt");
  metrics["kind"] = "teacher";
  metrics["kdpipe_version"] = version();
  metrics["created"] = utc_timestamp();
  metrics["options"] = describe(options);
  metrics["dataset"] = dataset_record(data);
  nlohmann::json mi_json = probe.describe();
  if (!probe.note().empty()) mi_json["note"] = probe.note();
  mi_json["per_epoch"] = mi_curve;
  mi_json["final"] = mi_curve.back();
  metrics["mutual_information"] = mi_json;
  metrics["target_gamma"] = options.smoothing();  // γ of label-smoothed targets is ε itself
  return metrics;
}

void log_result(spdlog::logger& log, const nlohmann::json& metrics) {
  log.info("test accuracy {:.4f}, NLL {:.4f}, ECE {:.4f}; final MI {:.3f}",
           metrics["test"]["accuracy"].get<double>(), metrics["test"]["nll"].get<double>(),
           metrics["test"]["ece"].get<double>(),
           metrics["mutual_information"]["final"].get<double>());
}

// A teacher trained elsewhere: the same evaluation, no training.
nlohmann::json evaluate_torchscript_teacher(const TeachOptions& options) {
  // A failed run must not look finished; the model evaluated is never among what is cleared.
  clear_finished_outputs(options.out(), {options.torchscript()});
  const auto log_ptr = open_run_log(options.out() / "train.log", "teach");
  spdlog::logger& log = *log_ptr;
  const auto model = load_torchscript(options.torchscript(), options.train().device());
  Dataset data = load_dataset(options.data());
  model->check_compatible(data.info);
  if (options.input() == "unit") {  // make_batch then yields pixels in [0, 1]
    data.info.mean.assign(data.info.mean.size(), 0.0f);
    data.info.std.assign(data.info.std.size(), 1.0f);
  }
  log.info("kdpipe {} teach: evaluating TorchScript teacher {} ({} input) on {}", version(),
           options.torchscript().string(), options.input(), data.info.name);
  const auto start = std::chrono::steady_clock::now();
  const MiProbe probe(data.train, data.info, probe_options(options));
  if (!probe.note().empty()) log.warn("{}", probe.note());
  nlohmann::json metrics =
      teacher_metrics(model, data, options, probe, nlohmann::json::array({probe.measure(model)}));
  metrics["model"] = {{"arch", "torchscript"},
                      {"source", "torchscript"},
                      {"checkpoint", fs::absolute(options.torchscript()).string()},
                      {"checkpoint_hash", hash_file(options.torchscript())}};
  metrics["epochs"] = nlohmann::json::array();
  metrics["timing"] = {
      {"evaluate_seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
      {"threads", options.threads()},
      {"blas", blas_kernels()},
      {"device", options.train().device().str()}};
  write_text_atomically(options.out() / "metrics.json", metrics.dump(2) + "\n");
  log_result(log, metrics);
  return metrics;
}

}  // namespace

nlohmann::json teach(const TeachOptions& options, Progress& progress) {
  options.validate();
  if (!options.torchscript().empty()) return evaluate_torchscript_teacher(options);
  clear_finished_outputs(options.out());  // a failed run must not look finished
  const auto log_ptr = open_run_log(options.out() / "train.log", "teach");
  spdlog::logger& log = *log_ptr;

  const Dataset data = load_dataset(options.data());
  const TrainOptions& train = options.train();
  log.info("kdpipe {} teach: {} on {} (train {}, val {}, test {}), smoothing {}, seed {}",
           version(), options.arch(), data.info.name, data.train.size(), data.val.size(),
           data.test.size(), options.smoothing(), train.seed());

  torch::manual_seed(train.seed());
  const InputShape input{data.info.channels, data.info.height, data.info.width};
  const Classifier model = make_model(options.arch(), input, data.info.classes);
  log.info("{} parameters, device {}, {} threads", parameter_count(*model), train.device().str(),
           options.threads());

  const MiProbe probe(data.train, data.info, probe_options(options));
  if (!probe.note().empty()) log.warn("{}", probe.note());
  const PredictOptions eval_options = PredictOptions().device(train.device());

  nlohmann::json epochs = nlohmann::json::array();
  double train_seconds = 0;
  int64_t images = 0;
  const double eps = options.smoothing();
  const LossFn loss = [eps](const torch::Tensor& logits, const Batch& batch) {
    return smoothed_cross_entropy(logits, batch.labels, eps);
  };
  const EpochFn on_epoch = [&](const EpochStats& s) {
    train_seconds += s.seconds;
    images += static_cast<int64_t>(std::llround(s.images_per_second * s.seconds));
    const double mi_value = probe.measure(model);
    nlohmann::json row = {{"epoch", s.epoch},
                          {"loss", s.loss},
                          {"train_accuracy", s.accuracy},
                          {"lr", s.lr},
                          {"seconds", s.seconds},
                          {"images_per_second", s.images_per_second},
                          {"mutual_information", mi_value}};
    std::string extra = fmt::format("  MI {:.3f}", mi_value);
    if (data.val.size() > 0) {
      const double val_acc =
          calibration(predict(model, data.val, data.info, eval_options).logits, data.val.labels)
              .accuracy;
      row["val_accuracy"] = val_acc;
      extra = fmt::format("  val acc {:.4f}", val_acc) + extra;
    }
    epochs.push_back(row);
    log.info("{}{}", format_epoch(s), extra);
    progress.epoch_done(s, extra);
  };
  train_model(model, data.train, data.info, train, loss, on_epoch, progress);

  const ModelMeta meta = model_meta(options.arch(), data.info);
  const fs::path model_path = options.out() / "model.pt";
  save_model(model, meta, model_path);

  nlohmann::json curve = nlohmann::json::array();
  for (const auto& row : epochs) curve.push_back(row["mutual_information"]);
  nlohmann::json metrics = teacher_metrics(model, data, options, probe, curve);
  metrics["model"] = checkpoint_record(model, options.arch(), model_path);
  metrics["epochs"] = epochs;
  metrics["timing"] = {{"train_seconds", train_seconds},
                       {"images_per_second", images / std::max(train_seconds, 1e-9)},
                       {"threads", options.threads()},
                       {"blas", blas_kernels()},
                       {"device", train.device().str()}};
  write_text_atomically(options.out() / "metrics.json", metrics.dump(2) + "\n");
  log_result(log, metrics);
  return metrics;
}

}  // namespace kd
