#include "teachers/teach.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/run_log.h"
#include "lib/core/runtime.h"
#include "lib/losses/losses.h"
#include "lib/metrics/calibration.h"
#include "lib/models/zoo.h"
#include "lib/train/classifier_metrics.h"

namespace kd {

namespace fs = std::filesystem;

void TeachOptions::validate() const {
  check<ConfigError>(smoothing() >= 0 && smoothing() < 1,
                     "--smoothing: expected a label-smoothing value in [0, 1), got ", smoothing());
  check<ConfigError>(!out().empty(), "--out: an output directory is required");
  parse_model_spec(arch());
  dataset_info(data().name());
  train().validate();
}

namespace {

nlohmann::json describe(const TeachOptions& o) {
  const TrainOptions& t = o.train();
  return {{"dataset", o.data().name()},
          {"data_dir", o.data().data_dir().string()},
          {"val_size", o.data().val_size()},
          {"arch", o.arch()},
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

}  // namespace

nlohmann::json teach(const TeachOptions& options, Progress& progress) {
  options.validate();
  ensure_directory(options.out());
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

  // Müller et al. measure MI with the training augmentation as noise; without augmentation
  // there is no noise to measure against, so the probe falls back to random shifts.
  MiProbeOptions mi = options.mi();
  mi.augment(train.augment() == Augment::none ? Augment::shift : train.augment())
      .seed(train.seed())
      .device(train.device());
  const MiProbe probe(data.train, data.info, mi);
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

  ModelMeta meta{options.arch(), input, data.info.classes, data.info.name};
  const fs::path model_path = options.out() / "model.pt";
  save_model(model, meta, model_path);

  nlohmann::json metrics = evaluate_classifier(model, data, eval_options);
  metrics["kind"] = "teacher";
  metrics["kdpipe_version"] = version();
  metrics["created"] = utc_timestamp();
  metrics["options"] = describe(options);
  metrics["dataset"] = {{"name", data.info.name},
                        {"classes", data.info.classes},
                        {"train_size", data.train.size()},
                        {"val_size", data.val.size()},
                        {"test_size", data.test.size()},
                        {"train_fingerprint", data.train.fingerprint()},
                        {"test_fingerprint", data.test.fingerprint()}};
  metrics["model"] = checkpoint_record(model, options.arch(), model_path);
  nlohmann::json mi_json = probe.describe();
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& row : epochs) curve.push_back(row["mutual_information"]);
  mi_json["per_epoch"] = curve;
  mi_json["final"] = curve.back();
  metrics["mutual_information"] = mi_json;
  metrics["target_gamma"] = eps;  // γ of label-smoothed targets is ε itself
  metrics["epochs"] = epochs;
  metrics["timing"] = {{"train_seconds", train_seconds},
                       {"images_per_second", images / std::max(train_seconds, 1e-9)},
                       {"threads", options.threads()},
                       {"device", train.device().str()}};
  write_text_atomically(options.out() / "metrics.json", metrics.dump(2) + "\n");
  log.info("test accuracy {:.4f}, NLL {:.4f}, ECE {:.4f}; final MI {:.3f}",
           metrics["test"]["accuracy"].get<double>(), metrics["test"]["nll"].get<double>(),
           metrics["test"]["ece"].get<double>(), mi_json["final"].get<double>());
  return metrics;
}

}  // namespace kd
