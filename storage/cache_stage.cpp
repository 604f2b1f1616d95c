#include "storage/cache_stage.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/runtime.h"
#include "lib/core/stage_progress.h"
#include "lib/data/example_stream.h"
#include "lib/data/streamed_dataset.h"
#include "lib/losses/losses.h"
#include "lib/models/export.h"
#include "storage/logit_cache.h"

namespace kd {

namespace fs = std::filesystem;

void CacheOptions::validate() const {
  validate_settings();
  describe_dataset(data());
}

void CacheOptions::validate_settings() const {
  check<ConfigError>(teacher().empty() != torchscript().empty(),
                     "give exactly one of --teacher DIR and --torchscript FILE");
  check<ConfigError>(split() == "train" || split() == "val" || split() == "test",
                     "--split: expected train, val or test, got '", split(), "'");
  check<ConfigError>(input() == "normalized" || input() == "unit",
                     "--input: expected normalized or unit, got '", input(), "'");
  std::vector<double> sorted = temperatures();
  std::sort(sorted.begin(), sorted.end());
  check<ConfigError>(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                     "--temperatures: a temperature is listed twice");
  check<ConfigError>(views() >= 1, "--views: expected at least 1 (view 0 is un-augmented), got ",
                     views());
  check<ConfigError>(!temperatures().empty(), "--temperatures: give at least one temperature");
  for (double t : temperatures()) {
    const std::string problem = temperature_problem(t);
    check<ConfigError>(problem.empty(), "--temperatures: ", problem);
  }
  check<ConfigError>(chunk() >= 1, "--chunk: expected a positive count, got ", chunk());
  check<ConfigError>(top_k() >= 0, "--top-k: expected 0 (a full cache) or a count of classes, got ",
                     top_k());
  check<ConfigError>(top_k() > 0 || top_k_rule() == TopKRule::uniform, "--top-k-rule ",
                     to_string(top_k_rule()),
                     ": only for a top-k cache (give --top-k K); a full cache keeps whole rows");
  check<ConfigError>(shard_count() == 0 || (shard_index() >= 0 && shard_index() < shard_count()),
                     "--shard: expected i/n with 0 <= i < n, got ", shard_index(), "/",
                     shard_count());
  check<ConfigError>(compress() >= 0 && compress() <= 9,
                     "--compress: expected a gzip level 0-9, got ", compress());
  check<ConfigError>(!out().empty(), "--out: a cache file to write is required");
  check_device(device());
}

namespace {

// An uncompressed cache takes its whole size on disk as soon as it is created: refuse one the
// disk cannot hold (--views 100000) before writing a byte. A .partial being resumed already
// holds its space. Compressed caches are smaller than this by an amount only writing tells.
void check_cache_fits(const CacheOptions& options, const CacheHeader& h) {
  if (options.compress() > 0) return;
  const double bytes = static_cast<double>(h.v) * static_cast<double>(h.n) *
                           static_cast<double>(h.row_width()) * (1.0 + h.temperatures.size()) *
                           (h.dtype == "float16" ? 2 : 4) +
                       8.0 * static_cast<double>(h.n);
  const fs::path out = fs::absolute(options.out());
  fs::path disk = out.parent_path();  // the folder, or the nearest one that exists
  while (!fs::exists(disk) && disk.has_relative_path()) disk = disk.parent_path();
  std::error_code ec;
  const fs::space_info space = fs::space(disk, ec);
  if (ec) return;  // the writer names any failure to make or write the file
  const fs::path partial = LogitCacheWriter::partial_path(out);
  const double held =
      fs::exists(partial, ec) ? static_cast<double>(fs::file_size(partial, ec)) : 0.0;
  const double free_bytes = static_cast<double>(space.available) + (ec ? 0.0 : held);
  char need[32], have[32];
  std::snprintf(need, sizeof need, "%.3g GB", bytes / 1e9);
  std::snprintf(have, sizeof have, "%.3g GB", free_bytes / 1e9);
  check<StorageError>(
      bytes <= free_bytes, "--out ", options.out().string(), ": the cache needs ", need, " (", h.v,
      " views x ", h.n, " examples x ", h.c, " classes x ", 1 + h.temperatures.size(),
      " datasets), and ", disk.string(), " has ", have,
      " free; use fewer --views or temperatures, --half, --compress, or another disk");
}

}  // namespace

CacheSummary build_cache(const CacheOptions& options,
                         const std::function<void(const std::string&)>& log) {
  options.validate();
  const TeacherModel teacher = options.teacher().empty()
                                   ? TeacherModel::from_torchscript(options.torchscript())
                                   : TeacherModel::from_checkpoint(options.teacher());
  check<ConfigError>(teacher.input().empty() || teacher.input() == options.input(), "--input ",
                     options.input(), ": ", options.teacher().string(), " was ",
                     teacher.source() == "torchscript" ? "evaluated" : "trained", " on ",
                     teacher.input(), " input");
  if (teacher.source() == "torchscript")
    check_exported_input(teacher.checkpoint(), options.input());
  // Refuse a teacher that cannot take the data before loading any of it.
  teacher.check_compatible(describe_dataset(options.data()));
  // A training split too large to hold is read from its file a chunk at a time.
  const DataOptions data_options = DataOptions(options.data()).stream(options.split() == "train");
  const Dataset data = load_dataset(data_options);
  if (const std::string note = held_memory_note(data_options, data); !note.empty()) log(note);
  if (options.split() == "train")
    if (const std::string note = training_order_note(data); !note.empty()) log(note);
  DatasetInfo info = data.info;
  apply_input_mode(info, options.input());
  const bool streamed = options.split() == "train" && data.stream;
  const ImageSet& set = streamed ? data.train : data.split(options.split());
  const int64_t split_size = streamed ? data.train_size() : set.size();
  check<ConfigError>(split_size > 0, "--split ", options.split(), ": the split is empty");

  CacheHeader h;
  h.teacher_source = teacher.source();
  h.teacher_arch = teacher.arch();
  h.teacher_smoothing = teacher.smoothing();
  h.teacher_seed = teacher.seed();
  h.teacher_checkpoint = fs::absolute(teacher.checkpoint()).string();
  h.teacher_checkpoint_hash = teacher.checkpoint_hash();
  h.dataset = info.name;
  h.split = options.split();
  h.dataset_fingerprint = streamed ? data.train_fingerprint() : set.fingerprint();
  h.class_names = info.class_names;
  // A training split visited in chunks (lib/data/epoch_pattern.h) is cached in the same chunks
  // unless --chunk says otherwise: a student reading the cache in step with the data then reads
  // each cache chunk once an epoch, not once for each window that holds a part of it.
  const int64_t chunk =
      options.split() == "train" && data.order.chunked && options.chunk() == kDefaultChunk
          ? data.order.chunk
          : options.chunk();
  // A shard: whole chunks [first, end) of the split's.
  const int64_t all_chunks = (split_size + chunk - 1) / chunk;
  int64_t first = 0, end = all_chunks;
  if (options.shard_count() > 0) {
    check<ConfigError>(options.shard_count() <= all_chunks, "--shard ", options.shard_index(), "/",
                       options.shard_count(), ": the ", options.split(), " split has ", all_chunks,
                       " chunks of ", chunk,
                       " examples, fewer than the shards (use fewer shards or a smaller --chunk)");
    first = options.shard_index() * all_chunks / options.shard_count();
    end = (options.shard_index() + 1) * all_chunks / options.shard_count();
    h.shard_index = options.shard_index();
    h.shard_count = options.shard_count();
    h.first_example = first * chunk;
  }
  h.n = std::min(split_size, end * chunk) - first * chunk;
  h.c = info.classes;
  h.v = options.views();
  h.temperatures = options.temperatures();
  h.augment = to_string(options.augment());
  h.augment_seed = static_cast<int64_t>(options.seed());
  h.input = options.input();
  if (info.is_features()) h.standardize = info.standardize, h.feature_noise = info.noise;
  // A top-k cache's values are float16 whatever --half says (K of C is the saving it is for).
  h.dtype = options.half() || options.top_k() > 0 ? "float16" : "float32";
  h.top_k = options.top_k();
  h.top_k_rule = options.top_k_rule();
  check<ConfigError>(h.top_k <= h.c, "--top-k ", h.top_k, ": ", info.name, " has only ", h.c,
                     " classes");
  h.chunk = chunk;
  h.kdpipe_version = version();
  h.created = utc_timestamp();

  // What this command reads is never what it writes: the teacher's files, the data.
  std::vector<fs::path> inputs = {teacher.checkpoint()};
  if (!options.teacher().empty()) inputs.push_back(options.teacher() / "metrics.json");
  const fs::path data_path = options.data().name();
  switch (dataset_kind(options.data())) {
    case DatasetKind::array_file:
      inputs.push_back(data_path);
      break;
    case DatasetKind::image_folder:  // what the folder reader reads: its splits' images
      inputs.insert(inputs.end(), {data_path / "train", data_path / "test"});
      break;
    case DatasetKind::builtin:
      break;
  }
  for (const fs::path& input : inputs) {
    check_not_an_input(options.out(), input, "--out");
    check_not_an_input(LogitCacheWriter::partial_path(options.out()), input, "--out");
  }
  check_cache_fits(options, h);
  LogitCacheWriter writer(options.out(), h, options.compress());
  if (!writer.restart_reason().empty()) log("starting over: " + writer.restart_reason());
  CacheSummary summary;
  summary.chunks = writer.chunk_count();
  summary.chunks_resumed = writer.chunks_done();
  if (summary.chunks_resumed > 0) {
    log("resuming " + LogitCacheWriter::partial_path(options.out()).string() + " after chunk " +
        std::to_string(summary.chunks_resumed) + " of " + std::to_string(summary.chunks));
  }
  const int64_t kill_after = options.kill_after_chunks();
  const std::string teacher_name =
      (options.teacher().empty() ? options.torchscript() : options.teacher()).string();
  const torch::Tensor labels = streamed ? data.stream->labels() : set.labels;
  const ExampleReader read = [&](int64_t begin, int64_t count) {
    if (streamed) return data.stream->read(torch::arange(begin, begin + count));
    return ImageSet{set.images.narrow(0, begin, count), set.labels.narrow(0, begin, count)};
  };
  const auto start = std::chrono::steady_clock::now();
  ProgressReporter progress = ProgressReporter::from_environment();
  int64_t images_here = 0;  // inferred by this run (not resumed)
  // A teacher or temperature that gives non-finite numbers fails the same way on every rerun:
  // its unfinished file is of no use to resume, so nothing is left behind.
  const auto discarding = [&](auto&& body) {
    try {
      return body();
    } catch (const DataError&) {
      writer.discard();
      throw;
    } catch (const ConfigError&) {
      writer.discard();
      throw;
    }
  };
  summary.images = discarding([&] {
    return run_inference(
        teacher, split_size, read, info,
        InferenceOptions()
            .views(options.views())
            .augment(options.augment())
            .seed(options.seed())
            .chunk(chunk)
            .first_chunk(first + writer.chunks_done())
            .end_chunk(end)
            .workers(options.workers())
            .device(options.device()),
        [&](int64_t global, const torch::Tensor& logits) {
          const int64_t k = global - first;  // the chunk's number in this file
          const int64_t begin = global * chunk;
          const int64_t bad = (~torch::isfinite(logits)).sum().item<int64_t>();
          check<DataError>(bad == 0, teacher_name, ": ", bad,
                           " non-finite logits (NaN or infinity) for examples [", begin, ", ",
                           begin + logits.size(1),
                           "): the teacher diverged or cannot take this data; nothing is cached");
          writer.write_chunk(k, logits, labels.slice(0, begin, begin + logits.size(1)));
          if (kill_after >= 0 && writer.chunks_done() >= kill_after) std::raise(SIGKILL);
          images_here += logits.size(0) * logits.size(1);  // views × examples
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          progress.report("caching",
                          "chunk " + std::to_string(k + 1) + "/" + std::to_string(summary.chunks),
                          static_cast<double>(k + 1) / static_cast<double>(summary.chunks),
                          static_cast<double>(images_here) / std::max(seconds, 1e-9));
        });
  });
  writer.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace kd
