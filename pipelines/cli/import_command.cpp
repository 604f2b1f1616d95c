#include <iostream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/data/image_folder.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "storage/array_file.h"

namespace kd::cli {

namespace fs = std::filesystem;

int import_command(const std::vector<std::string>& args) {
  po::options_description desc("Import");
  desc.add_options()("root", po::value<std::string>(),
                     "an image folder: ROOT/train/<class>/*.png|jpg, ROOT/test/<class>/...")(
      "out", po::value<std::string>(), "the h5 array file to write")(
      "image-size", po::value<std::string>()->default_value(""),
      "convert every image to HxW pixels (default: as stored; all images must then agree)")(
      "channels", po::value<int64_t>()->default_value(0),
      "convert every image to 1 (grey) or 3 (RGB) channels (0: as the first image)")(
      "compress", po::value<int>()->default_value(0), "gzip level of the image arrays, 0-9")(
      "threads", po::value<int>()->default_value(0), "decoding threads (0: all cores)");
  po::positional_options_description positional;
  positional.add("root", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe import ROOT --out DATA.h5 [--image-size HxW] [--channels 1|3]\n\n"
             "Decodes an image folder once into an h5 array file (/train/images uint8\n"
             "[N, H, W, C], /train/labels, /test/..., class_names), so that later stages take\n"
             "--dataset DATA.h5 and decode nothing.",
             vm, &positional)) {
    return 0;
  }
  check<ConfigError>(vm.count("root") > 0, "import: name an image folder");
  check<ConfigError>(vm.count("out") > 0 && !vm["out"].as<std::string>().empty(),
                     "--out: the h5 file to write is required");
  const int compress = vm["compress"].as<int>();
  check<ConfigError>(compress >= 0 && compress <= 9, "--compress: expected 0-9, got ", compress);
  ImageFormat format = parse_image_size(vm["image-size"].as<std::string>());
  format.channels = vm["channels"].as<int64_t>();
  check<ConfigError>(format.channels == 0 || format.channels == 1 || format.channels == 3,
                     "--channels: expected 1 or 3, got ", format.channels);
  apply_threads(vm);
  const fs::path root = vm["root"].as<std::string>();
  check<ConfigError>(fs::is_directory(root), "import ", root.string(), ": no such folder");
  // Before hours of decoding: an output inside the folder would replace one of its images (and
  // be read as one next time); one that is a device or FIFO would be replaced by a file.
  check_not_an_input(vm["out"].as<std::string>(), root, "--out");
  check_replaceable(vm["out"].as<std::string>(), "--out");
  Progress progress = Progress::for_stderr();
  const fs::path out = vm["out"].as<std::string>();
  const ImportSummary s = import_image_folder(root, format, out, compress, progress);
  std::cout << "imported " << s.train << " training and " << s.test << " test images ("
            << s.format.channels << "x" << s.format.height << "x" << s.format.width << ", "
            << s.classes << " classes) to " << out.string() << "\n";
  return 0;
}

}  // namespace kd::cli
