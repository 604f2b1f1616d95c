#include "lib/data/streamed_dataset.h"

#include <cstring>

#include "lib/core/error.h"
#include "lib/core/hash.h"
#include "lib/core/memory_limit.h"
#include "lib/core/work_ledger.h"
#include "lib/data/array_file.h"

namespace kd {

namespace {

constexpr int64_t kMB = int64_t{1} << 20;

int64_t mb(int64_t bytes) { return (bytes + kMB - 1) / kMB; }

}  // namespace

MemoryLimit data_memory_of(const DataOptions& options) {
  return options.memory_mb() > 0 ? MemoryLimit{options.memory_mb() * kMB, "as given"}
                                 : data_memory();
}

bool streams(const DataOptions& options, const DatasetInfo& info) {
  if (!options.stream() || dataset_kind(options) != DatasetKind::array_file || info.is_features())
    return false;
  // Images converted by --image-size or --channels are held (`info` is already their converted
  // description, so any conversion asked for counts).
  const ImageFormat& f = options.format();
  const bool converted = f.channels != 0 || f.height != 0;
  return !converted && array_file_reader(options.name()).stream && training_order(options).chunked;
}

std::optional<Dataset> load_streamed_dataset(const DataOptions& options, DatasetInfo info) {
  const PhaseScope phase(Phase::load);
  const std::filesystem::path path = options.name();
  const ArrayFileReader& reader = array_file_reader(path);
  const std::shared_ptr<ExampleStream> file = reader.stream(path, "train", {}, 0);
  const std::shared_ptr<ExampleStream> test = reader.stream(path, "test", {}, 0);
  const int64_t example = info.channels * info.height * info.width;
  const MemoryLimit limit = data_memory_of(options);
  // Held when every split fits in half of the memory (the other half for the process itself).
  if ((file->size() + test->size()) * (example + 8) <= limit.bytes / 2) return std::nullopt;

  const auto [train_rows, val_rows] = hold_out_rows(file->size(), options.val_size());
  Dataset data;
  data.info = std::move(info);
  const torch::Tensor val_index = torch::tensor(val_rows, torch::kInt64);
  // Filled by the pass below: validation rows lie scattered through the file, and a file whose
  // chunks hold many rows (compressed, as h5py makes them) would decompress a chunk for each.
  data.val = {
      torch::empty({val_index.numel(), data.info.channels, data.info.height, data.info.width},
                   torch::kUInt8),
      file->labels().index_select(0, val_index)};
  data.test = test->read(torch::arange(test->size()));
  data.order = epoch_pattern(static_cast<int64_t>(train_rows.size()), example);
  // Held: the validation and test splits, and what reading takes besides its windows.
  const int64_t held = (data.val.size() + data.test.size()) * (example + 8) + kStreamReadingBytes;
  const int64_t window = data.order.window_examples() * example;
  check<ConfigError>(limit.bytes - held >= 2 * window, "--memory ", mb(limit.bytes), " MB (",
                     limit.source, "): streaming ", path.string(), " holds its validation and test",
                     " splits and its reading buffers (", mb(held),
                     " MB) and at least two windows of ", data.order.window_examples(),
                     " training examples (", mb(2 * window), " MB); give at least ",
                     mb(held + 2 * window), " MB");

  // One pass over the training file: the normalisation over all of it (channel_statistics's
  // arithmetic), the fingerprint over the training split (ImageSet::fingerprint's bytes).
  std::vector<char> is_val(static_cast<std::size_t>(file->size()), 0);
  for (int64_t r : val_rows) is_val[static_cast<std::size_t>(r)] = 1;
  ChannelMoments moments(data.info.channels);
  Hasher h;
  for (int64_t d : {static_cast<int64_t>(train_rows.size()), data.info.channels, data.info.height,
                    data.info.width})
    h.update_value(d);
  auto* val_bytes = data.val.images.data_ptr<std::uint8_t>();
  int64_t val_at = 0;
  file->for_each_block(
      stream_block_rows(example, file->size()), [&](int64_t first, const torch::Tensor& images) {
        moments.add(images);
        // Row by row, nothing allocated: the hash of the training rows' bytes is that of their
        // concatenation, however it is fed.
        const std::uint8_t* rows = images.data_ptr<std::uint8_t>();
        for (int64_t i = 0; i < images.size(0); ++i) {
          const std::uint8_t* row = rows + i * example;
          if (is_val[static_cast<std::size_t>(first + i)]) {
            std::memcpy(val_bytes + val_at++ * example, row, static_cast<std::size_t>(example));
          } else {
            h.update(row, static_cast<std::size_t>(example));
          }
        }
      });
  check<StorageError>(val_at == data.val.size(), path.string(), ": the validation split read ",
                      val_at, " of ", data.val.size(), " examples");
  std::tie(data.info.mean, data.info.std) = moments.result();
  // The pass's stream's subset: it reads the file as the pass found it (a change since is seen).
  data.stream = file->subset(torch::tensor(train_rows, torch::kInt64), limit.bytes - held);
  const torch::Tensor labels = data.stream->labels().contiguous();
  h.update(labels.data_ptr(), static_cast<std::size_t>(labels.numel()) * labels.element_size());
  data.stream_fingerprint = h.hex();
  data.train = {
      torch::empty({0, data.info.channels, data.info.height, data.info.width}, torch::kUInt8),
      torch::empty({0}, torch::kInt64)};
  return data;
}

std::string held_memory_note(const DataOptions& options, const Dataset& data) {
  if (data.stream) return "";
  const MemoryLimit limit = data_memory_of(options);
  int64_t bytes = 0;
  for (const ImageSet* split : {&data.train, &data.val, &data.test})
    bytes += split->images.numel() * split->images.element_size() + split->labels.numel() * 8;
  if (bytes <= limit.bytes) return "";
  const ImageFormat& f = options.format();
  const char* why = dataset_kind(options) != DatasetKind::array_file
                        ? "only image array files are read as a stage runs (see kdpipe import)"
                    : data.info.is_features() ? "feature arrays are held whole"
                    : f.channels != 0 || f.height != 0
                        ? "images converted by --image-size or --channels are held"
                        : "a training split of 256 MB or less is held whole";
  return "the data take " + std::to_string(mb(bytes)) + " MB of memory, more than --memory " +
         std::to_string(mb(limit.bytes)) + " MB (" + limit.source + "): " + why;
}

std::string training_order_note(const Dataset& data) {
  if (!data.order.chunked) return "";
  return "training order: " + data.order.text() + "; " +
         (data.stream ? "read from the file as it runs" : "held in memory");
}

}  // namespace kd
