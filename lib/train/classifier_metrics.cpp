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

// The logits of the training split, held or read from its file a block at a time.
torch::Tensor training_logits(const Classifier& model, const Dataset& data,
                              const PredictOptions& options) {
  if (!data.stream) return predict(model, data.train, data.info, options).logits;
  std::vector<torch::Tensor> parts;
  const torch::Tensor& labels = data.stream->labels();
  data.stream->for_each_block(
      4 * options.batch_size(), [&](int64_t first, const torch::Tensor& images) {
        const ImageSet block{images, labels.narrow(0, first, images.size(0))};
        parts.push_back(predict(model, block, data.info, options).logits);
      });
  return torch::cat(parts);
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
  const torch::Tensor train_labels = data.stream ? data.stream->labels() : data.train.labels;
  const torch::Tensor train_logits = training_logits(model, data, options);
  const torch::Tensor train_probs = torch::softmax(train_logits.to(torch::kFloat64), 1);
  out.train_accuracy = calibration(train_logits, train_labels).accuracy;
  out.stability = stability(train_probs, train_labels);
  out.train_gamma = target_smoothness(train_probs, train_labels);
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
