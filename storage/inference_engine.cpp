#include "storage/inference_engine.h"

#include <ATen/Context.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <optional>

#include "lib/core/config.h"
#include "lib/core/runtime.h"

#if KD_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kd {

namespace {

struct Token {
  int64_t chunk = 0;
  torch::Tensor rows;    ///< int64 [n]: examples of this chunk
  torch::Tensor logits;  ///< float32 [V, n, C] on the CPU, once inferred
};

// Each worker's own teacher and, on CUDA, its own stream.
struct Worker {
  TeacherReplica forward;
#if KD_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream;
#endif
};

// LibTorch's intra-op threads are process-wide: one per worker while the pipeline runs.
class ThreadsGuard {
 public:
  explicit ThreadsGuard(int threads) : saved_(torch::get_num_threads()) {
    torch::set_num_threads(threads);
  }
  ~ThreadsGuard() { torch::set_num_threads(saved_); }

 private:
  int saved_;
};

// cuDNN convolutions use TF32 (a 10-bit mantissa) by default on Ampere and later GPUs. A cache
// stores the model's float32 logits, so TF32 is off while the engine runs on CUDA.
class Float32ConvolutionGuard {
 public:
  explicit Float32ConvolutionGuard(bool active)
      : active_(active), saved_(at::globalContext().allowTF32CuDNN()) {
    if (active_) at::globalContext().setAllowTF32CuDNN(false);
  }
  ~Float32ConvolutionGuard() {
    if (active_) at::globalContext().setAllowTF32CuDNN(saved_);
  }

 private:
  bool active_, saved_;
};

}  // namespace

int64_t run_inference(const TeacherModel& teacher, const ImageSet& set, const DatasetInfo& info,
                      const InferenceOptions& options, const ChunkSink& sink) {
  const int workers = options.workers() > 0 ? options.workers() : available_cores();
  const bool cuda = options.device().is_cuda();
  const int64_t n = set.size();
  const int64_t chunks = (n + options.chunk() - 1) / options.chunk();
  const torch::Device device = options.device();

  ThreadsGuard threads(cuda ? torch::get_num_threads() : 1);
  Float32ConvolutionGuard float32(cuda);
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                  static_cast<std::size_t>(workers));
  tbb::enumerable_thread_specific<Worker> pool([&] {
    Worker w;
    w.forward = teacher.replica(device);
#if KD_WITH_CUDA
    if (cuda)
      w.stream = c10::cuda::getStreamFromPool(false, device.index() < 0 ? 0 : device.index());
#endif
    return w;
  });

  int64_t next = options.first_chunk();
  int64_t images = 0;
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
            t->rows = torch::arange(begin, std::min(n, begin + options.chunk()), torch::kInt64);
            return t;
          }) &
          tbb::make_filter<std::shared_ptr<Token>, std::shared_ptr<Token>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Token> t) -> std::shared_ptr<Token> {
                torch::NoGradGuard no_grad;
                Worker& w = pool.local();
                std::vector<torch::Tensor> views;
                for (int64_t v = 0; v < options.views(); ++v) {
                  torch::Tensor x =
                      make_batch(set, info, t->rows, v == 0 ? Augment::none : options.augment(),
                                 options.seed(), static_cast<std::uint64_t>(v));
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
                return t;
              }) &
          tbb::make_filter<std::shared_ptr<Token>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Token> t) {
                images += t->logits.size(0) * t->logits.size(1);
                sink(t->chunk, t->logits);
              }));
  return images;
}

}  // namespace kd
