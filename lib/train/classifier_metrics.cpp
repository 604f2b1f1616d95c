#include "lib/train/classifier_metrics.h"

#include <torch/serialize.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/data/example_stream.h"
#include "lib/metrics/calibration.h"
#include "lib/metrics/information.h"
#include "lib/models/zoo.h"

namespace kd {

namespace {

// The training split's accuracy, stability and γ, a block of examples at a time (held or read
// from its file), so that neither its logits nor its probabilities are ever held whole: an
// ImageNet-sized split's would take gigabytes.
void training_metrics(const Classifier& model, const Dataset& data, const PredictOptions& options,
                      Evaluation& out) {
  ProbabilityMoments moments(data.info.classes);
  CalibrationMeter meter;
  const auto add = [&](const ImageSet& block) {
    const torch::Tensor logits = predict(model, block, data.info, options).logits;
    meter.add(logits, block.labels);
    moments.add(torch::softmax(logits.to(torch::kFloat64), 1), block.labels);
  };
  // The same blocks held or streamed (so the same figures); a few MB of pixels each.
  const int64_t block = stream_block_rows(data.info.channels * data.info.height * data.info.width,
                                          options.batch_size());
  if (data.stream) {
    const torch::Tensor& labels = data.stream->labels();
    data.stream->for_each_block(block, [&](int64_t first, const torch::Tensor& images) {
      add({images, labels.narrow(0, first, images.size(0))});
    });
  } else {
    for (int64_t first = 0; first < data.train.size(); first += block) {
      const int64_t rows = std::min(block, data.train.size() - first);
      add({data.train.images.narrow(0, first, rows), data.train.labels.narrow(0, first, rows)});
    }
  }
  out.train_accuracy = meter.report().accuracy;
  out.stability = moments.stability();
  out.train_gamma = moments.smoothness();
}

}  // namespace

Evaluation evaluate_classifier(const Classifier& model, const Dataset& data,
                               const PredictOptions& options,
                               const std::filesystem::path& predictions) {
  Evaluation out;
  const torch::Tensor test_logits = predict(model, data.test, data.info, options).logits;
  const int64_t bad = (~torch::isfinite(test_logits).all(1)).sum().item<int64_t>();
  check<TrainingError>(bad == 0, "the model gives non-finite logits (NaN or infinity) for ", bad,
                       " of ", test_logits.size(0), " test examples: it cannot be evaluated");
  out.test = calibration(test_logits, data.test.labels);
  if (!predictions.empty()) {
    save_test_predictions(predictions, {test_logits, data.test.labels, data.test.fingerprint()});
    out.predictions = predictions.filename().string();
  }
  if (data.val.size() > 0) {
    const torch::Tensor val_logits = predict(model, data.val, data.info, options).logits;
    out.val = calibration(val_logits, data.val.labels);
    const double t = fit_temperature(val_logits, data.val.labels);
    out.scaling = TemperatureScaling{t, calibration(test_logits, data.test.labels, t)};
  }
  training_metrics(model, data, options, out);
  return out;
}

ModelRecord checkpoint_record(const Classifier& model, const std::string& arch,
                              const std::filesystem::path& checkpoint) {
  ModelRecord m;
  m.arch = arch;
  m.parameters = parameter_count(*model);
  m.checkpoint = checkpoint.filename().string();
  m.checkpoint_hash = hash_file(checkpoint);
  return m;
}

void save_test_predictions(const std::filesystem::path& path, const TestPredictions& p) {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert(std::string("format"), std::string("kdpipe-predictions"));
  const torch::Tensor logits = p.logits.to(torch::kCPU, torch::kFloat32).contiguous();
  d.insert(std::string("logits"), logits);
  d.insert(std::string("predicted"), logits.argmax(1));
  d.insert(std::string("labels"), p.labels.to(torch::kCPU, torch::kInt64).contiguous());
  d.insert(std::string("test_fingerprint"), p.test_fingerprint);
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(d));
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    write_file(tmp, bytes.data(), bytes.size(), path);
  });
}

TestPredictions load_test_predictions(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(text.begin(), text.end()));
  } catch (const c10::Error&) {
    throw StorageError(path.string() + ": not a predictions file (unreadable pickle)");
  }
  check<StorageError>(v.isGenericDict(), path.string(), ": not a kdpipe predictions file");
  const c10::Dict<c10::IValue, c10::IValue> d = v.toGenericDict();
  for (const char* key : {"format", "logits", "labels", "test_fingerprint"}) {
    check<StorageError>(d.contains(std::string(key)), path.string(), ": field '", key,
                        "' is missing");
  }
  auto at = [&](const char* key) { return d.at(std::string(key)); };
  check<StorageError>(at("format").toStringRef() == "kdpipe-predictions", path.string(),
                      ": field 'format' is not kdpipe-predictions");
  return {at("logits").toTensor(), at("labels").toTensor(), at("test_fingerprint").toStringRef()};
}

}  // namespace kd
