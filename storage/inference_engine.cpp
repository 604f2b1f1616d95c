#include "storage/inference_engine.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <mutex>
#include <optional>

#include "lib/core/compute.h"
#include "lib/core/config.h"
#include "lib/core/runtime.h"
#include "lib/core/work_ledger.h"
#include "lib/models/flops.h"

#if KD_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kd {

namespace {

struct Token {
  int64_t chunk = 0;
  torch::Tensor rows;    ///< int64 [n]: examples of this chunk
  ImageSet examples;     ///< their images and labels
  torch::Tensor logits;  ///< float32 [V, n, C] on the CPU, once inferred
};

// Each worker's own teacher and, on CUDA, its own stream.
struct Worker {
  TeacherReplica forward;
#if KD_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream;
#endif
};

}  // namespace

int64_t run_inference(const TeacherModel& teacher, const ImageSet& set, const DatasetInfo& info,
                      const InferenceOptions& options, const ChunkSink& sink) {
  return run_inference(
      teacher, set.size(),
      [&set](int64_t first, int64_t count) {
        return ImageSet{set.images.narrow(0, first, count), set.labels.narrow(0, first, count)};
      },
      info, options, sink);
}

int64_t run_inference(const TeacherModel& teacher, int64_t n, const ExampleReader& read,
                      const DatasetInfo& info, const InferenceOptions& options,
                      const ChunkSink& sink) {
  const int workers = options.workers() > 0 ? options.workers() : available_cores();
  const bool cuda = options.device().is_cuda();
  const int64_t all_chunks = (n + options.chunk() - 1) / options.chunk();
  const int64_t chunks =
      options.end_chunk() >= 0 ? std::min(options.end_chunk(), all_chunks) : all_chunks;
  const torch::Device device = options.device();
  check_device(device);

  const PhaseScope phase(Phase::infer);
  // The teacher's FLOPs per image, counted on the first replica with the first image.
  double flops = 0;
  std::once_flag counted;
  const ImageSet first_example = n > 0 ? read(0, 1) : ImageSet{};
  tbb::enumerable_thread_specific<Worker> pool([&] {
    Worker w;
    w.forward = teacher.replica(device);
    std::call_once(counted, [&] {
      const torch::Tensor first =
          make_batch(first_example, info, torch::zeros({1}, torch::kInt64), Augment::none, 0, 0);
      flops = forward_flops(w.forward, first.to(device));
    });
#if KD_WITH_CUDA
    if (cuda)
      w.stream = c10::cuda::getStreamFromPool(false, device.index() < 0 ? 0 : device.index());
#endif
    return w;
  });

  int64_t next = options.first_chunk();
  int64_t images = 0;
  // The workers of this call only: an arena of its own leaves the process's TBB settings alone.
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::parallel_pipeline(
        static_cast<std::size_t>(2 * workers),
        tbb::make_filter<void, std::shared_ptr<Token>>(
            tbb::filter_mode::serial_in_order,
            [&](tbb::flow_control& fc) -> std::shared_ptr<Token> {
              if (next >= chunks) {
                fc.stop();
                return nullptr;
              }
              auto t = std::make_shared<Token>();
              t->chunk = next++;
              const int64_t begin = t->chunk * options.chunk();
              const int64_t end = std::min(n, begin + options.chunk());
              t->rows = torch::arange(begin, end, torch::kInt64);
              t->examples = read(begin, end - begin);
              return t;
            }) &
            tbb::make_filter<std::shared_ptr<Token>, std::shared_ptr<Token>>(
                tbb::filter_mode::parallel,
                [&](std::shared_ptr<Token> t) -> std::shared_ptr<Token> {
                  torch::NoGradGuard no_grad;
                  Worker& w = pool.local();
                  std::vector<torch::Tensor> views;
                  for (int64_t v = 0; v < options.views(); ++v) {
                    // The chunk's own examples, drawn for their rows in the split.
                    torch::Tensor x =
                        make_batch(t->examples, info, torch::arange(t->rows.numel()),
                                   v == 0 ? Augment::none : options.augment(), options.seed(),
                                   static_cast<std::uint64_t>(v), t->rows);
                    if (cuda) {
#if KD_WITH_CUDA
                      c10::cuda::CUDAStreamGuard guard(*w.stream);
                      torch::Tensor z = w.forward(x.pin_memory().to(device, /*non_blocking=*/true));
                      views.push_back(z.to(torch::kCPU, torch::kFloat32));
#endif
                    } else {
                      views.push_back(w.forward(x).to(torch::kFloat32));
                    }
                  }
                  t->logits = torch::stack(views);
                  t->examples = {};  // the pixels are done with
                  return t;
                }) &
            tbb::make_filter<std::shared_ptr<Token>, void>(
                tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Token> t) {
                  images += t->logits.size(0) * t->logits.size(1);
                  sink(t->chunk, t->logits);
                }));
  });
  record_forward(flops, images, false);
  return images;
}

}  // namespace kd
