// Image-folder decoding against loading the same images from the imported h5 array file.
//
//   kd_bench_decode [--folder DIR] [--train N] [--test N] [--reps R]
//
// Without --folder, writes the first N training and test images of Fashion-MNIST as PNGs into a
// temporary folder (what bench/make_image_folder.py does). Then, best of R runs each: decoding
// the folder (read_image_folder) with 1 and 2 threads, `kdpipe import`'s writer, and reading the
// imported file back (read_array_file), and the whole load_dataset from either.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/runtime.h"
#include "lib/data/datasets.h"
#include "lib/data/idx.h"
#include "lib/data/image_codec.h"
#include "lib/data/image_folder.h"
#include "storage/array_file.h"

namespace fs = std::filesystem;

namespace {

template <typename F>
double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void write_fashion_folder(const fs::path& root, int64_t n_train, int64_t n_test) {
  const fs::path dir = kd::default_data_dir("fashion-mnist");
  for (const auto& [split, prefix, n] :
       {std::tuple<std::string, std::string, int64_t>{"train", "train", n_train},
        {"test", "t10k", n_test}}) {
    const kd::ImageSet set = kd::read_idx_split(dir, prefix, 10);
    for (int64_t i = 0; i < std::min(n, set.size()); ++i) {
      const fs::path cls = root / split / std::to_string(set.labels[i].item<int64_t>());
      fs::create_directories(cls);
      char name[32];
      std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
      kd::write_png(cls / name, set.images[i]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path folder;
  int64_t n_train = 60000, n_test = 10000;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--folder")
      folder = argv[i + 1];
    else if (a == "--train")
      n_train = std::stoll(argv[i + 1]);
    else if (a == "--test")
      n_test = std::stoll(argv[i + 1]);
    else if (a == "--reps")
      reps = std::stoi(argv[i + 1]);
    else {
      std::cerr << "usage: kd_bench_decode [--folder DIR] [--train N] [--test N] [--reps R]\n";
      return 2;
    }
  }
  try {
    kd::enable_array_files();
    const fs::path tmp =
        fs::temp_directory_path() / ("kd_bench_decode." + std::to_string(::getpid()));
    fs::create_directories(tmp);
    if (folder.empty()) {
      folder = tmp / "images";
      write_fashion_folder(folder, n_train, n_test);
    }
    kd::Progress quiet = kd::Progress::silent();
    kd::DatasetFiles files;
    double decode[3] = {0, 0, 0};
    for (int threads : {1, 2}) {
      kd::configure_threads(threads);
      decode[threads] =
          best_seconds(reps, [&] { files = kd::read_image_folder(folder, {}, quiet); });
    }
    const double n = static_cast<double>(files.train.size() + files.test.size());
    const fs::path h5 = tmp / "imported.h5";
    const double write =
        best_seconds(reps, [&] { kd::write_array_file(h5, files, folder.string(), 0); });
    const double read = best_seconds(reps, [&] { kd::read_array_file(h5); });
    const double load_folder = best_seconds(
        reps, [&] { kd::load_dataset(kd::DataOptions(folder.string()).val_size(1000)); });
    const double load_h5 =
        best_seconds(reps, [&] { kd::load_dataset(kd::DataOptions(h5.string()).val_size(1000)); });
    std::printf("images                       %.0f (%lldx%lldx%lld)\n", n,
                static_cast<long long>(files.train.images.size(1)),
                static_cast<long long>(files.train.images.size(2)),
                static_cast<long long>(files.train.images.size(3)));
    std::printf("decode folder, 1 thread      %.3f s  %8.0f img/s\n", decode[1], n / decode[1]);
    std::printf("decode folder, 2 threads     %.3f s  %8.0f img/s  (%.2fx 1 thread)\n", decode[2],
                n / decode[2], decode[1] / decode[2]);
    std::printf("write imported h5            %.3f s  %8.0f img/s\n", write, n / write);
    std::printf(
        "read imported h5             %.3f s  %8.0f img/s  (%.1fx faster than decoding, 2 "
        "threads)\n",
        read, n / read, decode[2] / read);
    std::printf("load_dataset from folder     %.3f s  (2 threads)\n", load_folder);
    std::printf("load_dataset from h5         %.3f s  (%.1fx faster)\n", load_h5,
                load_folder / load_h5);
    fs::remove_all(tmp);
  } catch (const std::exception& e) {
    std::cerr << "kd_bench_decode: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
