#include "lib/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <mutex>
#include <numeric>
#include <optional>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/core/work_ledger.h"
#include "lib/dist/data_parallel.h"
#include "lib/models/flops.h"
#include "lib/train/sgd.h"

namespace kd {

namespace {

TrainingState training_state(const Classifier& model, Sgd& sgd, const TrainOptions& options,
                             int64_t epochs_done, const std::vector<EpochRecord>* records) {
  TrainingState s;
  s.epochs_done = epochs_done;
  s.epochs = options.epochs();
  s.parameters = model->parameters();
  s.buffers = model->buffers();
  s.momentum = sgd.momentum();
  at::Generator rng = at::detail::getDefaultCPUGenerator();
  {
    const std::lock_guard<std::mutex> lock(rng.mutex());
    s.rng = rng.get_state();
  }
  if (records) s.records = *records;
  return s;
}

// Puts a checkpoint's state back into the model, the optimiser and the RNG; false (nothing
// changed) when it does not fit this training: other epochs, or other parameter shapes.
bool resume_from(const TrainingState& s, const Classifier& model, Sgd& sgd,
                 const TrainOptions& options) {
  const std::vector<torch::Tensor> params = model->parameters(), buffers = model->buffers();
  const auto fits = [](const std::vector<torch::Tensor>& have,
                       const std::vector<torch::Tensor>& saved) {
    if (have.size() != saved.size()) return false;
    for (std::size_t i = 0; i < have.size(); ++i)
      if (!saved[i].defined() || saved[i].sizes() != have[i].sizes() ||
          saved[i].dtype() != have[i].dtype())
        return false;
    return true;
  };
  if (s.epochs != options.epochs() || s.epochs_done <= 0 || s.epochs_done >= s.epochs ||
      !fits(params, s.parameters) || !fits(buffers, s.buffers) ||
      s.momentum.size() != params.size())
    return false;
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(s.parameters[i]);
  for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(s.buffers[i]);
  for (std::size_t i = 0; i < params.size(); ++i) {
    sgd.momentum()[i] =
        s.momentum[i].defined() ? s.momentum[i].to(params[i].device()).clone() : torch::Tensor();
  }
  at::Generator rng = at::detail::getDefaultCPUGenerator();  // a handle on the global one
  const std::lock_guard<std::mutex> lock(rng.mutex());
  rng.set_state(s.rng);
  return true;
}

}  // namespace

void TrainOptions::validate() const {
  check<ConfigError>(epochs() > 0 && epochs() <= 100000,
                     "--epochs: expected a positive count of at most 100000, got ", epochs());
  check<ConfigError>(batch_size() > 0, "--batch-size: expected a positive count, got ",
                     batch_size());
  check<ConfigError>(lr() > 0 && std::isfinite(lr()), "--lr: expected a positive rate, got ", lr());
  check<ConfigError>(momentum() >= 0 && momentum() < 1,
                     "--momentum: expected a value in [0, 1), got ", momentum());
  check<ConfigError>(weight_decay() >= 0, "--weight-decay: expected a value >= 0, got ",
                     weight_decay());
  check<ConfigError>(ranks() >= 1 && ranks() <= 1024,
                     "--ranks: expected a count of processes from 1 to 1024, got ", ranks());
  check<ConfigError>(batch_size() % ranks() == 0, "--ranks: ", ranks(),
                     " does not divide the batch size ", batch_size(),
                     " (every rank takes an equal share of a batch)");
  check<ConfigError>(ranks() == 1 || batch_size() >= 2 * ranks(), "--ranks: ", ranks(),
                     " ranks need batches of at least ", 2 * ranks(),
                     " examples (2 each: BatchNorm cannot train on one), not ", batch_size());
}

namespace {

// What a rank holds of a data-parallel training (absent: one process).
struct RankShare {
  Communicator* ranks = nullptr;
  int rank = 0, size = 1;
  // The rows of a global batch of `batch` examples this rank trains on: the rank-th of `size`
  // consecutive parts (the slice a stream reads for it).
  RankSlice slice(int64_t batch) const { return {rank, size, batch}; }
  torch::Tensor of(const torch::Tensor& rows) const {
    const auto [lo, hi] = slice(rows.numel()).of_batch(rows.numel());
    return rows.slice(0, lo, hi);
  }
};

// Every rank starts from rank 0's state: the epoch to start at, weights, buffers and momentum.
int64_t start_together(const RankShare& share, const Classifier& model, Sgd& sgd, int64_t first) {
  if (share.size == 1) return first;
  const torch::Tensor epoch = torch::tensor({first}, torch::kInt64);
  share.ranks->broadcast(epoch, 0);
  first = epoch.item<int64_t>();
  broadcast_tensors(*share.ranks, model->parameters(), 0);
  broadcast_tensors(*share.ranks, model->buffers(), 0);
  // Rank 0 resumed with momentum: the others take it too.
  const torch::Tensor has = torch::tensor(
      {sgd.momentum().empty() || !sgd.momentum()[0].defined() ? 0.0 : 1.0}, torch::kFloat64);
  share.ranks->broadcast(has, 0);
  if (has.item<double>() > 0) {
    const std::vector<torch::Tensor> params = model->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      torch::Tensor& m = sgd.momentum()[i];
      if (!m.defined()) m = torch::zeros_like(params[i]);
    }
    broadcast_tensors(*share.ranks, sgd.momentum(), 0);
  }
  return first;
}

}  // namespace

void train_model(const Classifier& model, const TrainingSet& train, const DatasetInfo& info,
                 const TrainOptions& options, const LossFn& loss_fn, const EpochFn& on_epoch,
                 Progress& progress, const InputFn& inputs, const Checkpointing& checkpointing,
                 Communicator* ranks) {
  options.validate();
  const int64_t n = train.size();
  check<ConfigError>(n > 0, "training set is empty");
  const RankShare share{ranks, ranks ? ranks->rank() : 0, ranks ? ranks->size() : 1};
  check<ConfigError>(share.size == options.ranks(), "--ranks ", options.ranks(),
                     ": this process is one of ", share.size, " ranks");
  const PhaseScope phase(Phase::train);
  model->to(options.device());
  model->train();
  const double flops = forward_flops(model, info.input());
  const bool nesterov = options.momentum() > 0;
  Sgd sgd(model->parameters(), {options.momentum(), 0, options.weight_decay(), nesterov});
  const int64_t bs = std::min(options.batch_size(), n);
  check<ConfigError>(share.size == 1 || bs >= 2 * share.size, "--ranks: ", share.size,
                     " ranks need at least ", 2 * share.size,
                     " training examples (2 each), and there are only ", n);
  const int64_t steps_per_epoch = (n + bs - 1) / bs;
  const int64_t total_steps = steps_per_epoch * options.epochs();
  const torch::Tensor labels = train.labels();

  const bool keeping = !checkpointing.dir.empty() && !checkpointing.resume.key().empty();
  int64_t first = 0;
  if (keeping) {
    if (const auto saved = load_checkpoint(checkpointing.dir, checkpointing.resume.key());
        saved && resume_from(*saved, model, sgd, options)) {
      if (checkpointing.records) *checkpointing.records = saved->records;
      first = saved->epochs_done;
      if (checkpointing.on_resume) checkpointing.on_resume(first);
    }
  }
  first = start_together(share, model, sgd, first);
  std::optional<GradientSum> gradient_sum;
  if (share.size > 1) gradient_sum.emplace(*ranks, model->parameters());

  for (int64_t epoch = first; epoch < options.epochs(); ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const torch::Tensor order = epoch_order(n, train.pattern, options.seed(), epoch);
    // A streamed split is read ahead in this order.
    ExampleStream* const stream = train.stream;
    if (stream) stream->start_epoch(train.pattern, options.seed(), epoch, share.slice(bs));
    double loss_sum = 0, lr = options.lr();
    int64_t correct = 0, seen = 0;
    for (int64_t step = 0; step < steps_per_epoch; ++step) {
      const torch::Tensor global = order.slice(0, step * bs, std::min(n, (step + 1) * bs));
      // Batch norm cannot train on a single example; a lone leftover waits for the next epoch
      // (with ranks, a leftover too small to give each rank two).
      if (global.numel() < 2 * share.size && steps_per_epoch > 1) continue;
      if (checkpointing.resume.kill_at_step() == epoch * steps_per_epoch + step + 1)
        ::raise(SIGKILL);
      if (checkpointing.resume.stop_at_step() == epoch * steps_per_epoch + step + 1)
        ::raise(SIGSTOP);
      lr = learning_rate(options.schedule(), options.lr(),
                         static_cast<double>(epoch * steps_per_epoch + step) / total_steps);
      const torch::Tensor rows = share.of(global);
      Batch batch;
      batch.rows = rows;
      batch.epoch = epoch;
      StreamedRows read;
      // The stream reads this rank's share of each batch only (the ranks share one order).
      if (stream) read = stream->next_rows(rows.numel());
      if (inputs) {
        batch.inputs = inputs(rows, epoch, read);
      } else if (stream) {
        batch.inputs = make_batch(ImageSet{read.images, {}}, info, read.at, options.augment(),
                                  options.seed(), static_cast<std::uint64_t>(epoch), rows);
      } else {
        batch.inputs = make_batch(*train.memory, info, rows, options.augment(), options.seed(),
                                  static_cast<std::uint64_t>(epoch));
      }
      batch.inputs = batch.inputs.to(options.device());
      batch.labels = labels.index_select(0, rows).to(options.device());
      sgd.zero_grad();
      const torch::Tensor logits = model->forward(batch.inputs);
      const torch::Tensor loss = loss_fn(logits, batch);
      const double loss_value = loss.item<double>();
      check<TrainingError>(std::isfinite(loss_value), "training diverged at epoch ", epoch + 1,
                           ", step ", step + 1, ": loss is ", loss_value, " (try a lower --lr)");
      if (gradient_sum) {
        // This rank's mean counts for its share of the global batch; the sum over ranks is then
        // the global batch's mean gradient.
        (loss * (static_cast<double>(rows.numel()) / global.numel())).backward();
        gradient_sum->finish();
      } else {
        loss.backward();
      }
      sgd.step(lr);
      loss_sum += loss_value * rows.numel();
      correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
      seen += rows.numel();
      record_forward(flops, global.numel(), true);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.step(epoch + 1, options.epochs(), step + 1, steps_per_epoch, loss_sum / seen,
                    static_cast<double>(correct) / seen,
                    static_cast<double>(seen) * share.size / std::max(secs, 1e-9));
    }
    if (share.size > 1) {
      const torch::Tensor totals = torch::tensor(
          {loss_sum, static_cast<double>(correct), static_cast<double>(seen)}, torch::kFloat64);
      ranks->sum(totals);
      loss_sum = totals[0].item<double>();
      correct = static_cast<int64_t>(std::llround(totals[1].item<double>()));
      seen = static_cast<int64_t>(std::llround(totals[2].item<double>()));
      average_floating(*ranks, model->buffers());  // BatchNorm's running statistics
    }
    EpochStats stats;
    stats.epoch = epoch + 1;
    stats.epochs = options.epochs();
    stats.loss = loss_sum / std::max<int64_t>(seen, 1);
    stats.accuracy = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
    stats.lr = lr;
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.images_per_second = seen / std::max(stats.seconds, 1e-9);
    if (on_epoch) on_epoch(stats);
    model->train();
    if (keeping && epoch + 1 < options.epochs()) {
      save_checkpoint(checkpointing.dir, checkpointing.resume.key(),
                      training_state(model, sgd, options, epoch + 1, checkpointing.records));
    }
    if (checkpointing.resume.kill_after_epochs() == epoch + 1 && epoch + 1 < options.epochs())
      ::raise(SIGKILL);
  }
}

}  // namespace kd
