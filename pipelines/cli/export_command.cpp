#include <iostream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/models/export.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"

namespace kd::cli {

namespace fs = std::filesystem;

int export_command(const std::vector<std::string>& args) {
  po::options_description desc("Export");
  desc.add_options()("model-dir", po::value<std::string>(),
                     "a teacher or student directory of kdpipe (or its model.pt)")(
      "torchscript", po::value<std::string>(), "the TorchScript file to write (FILE.pt)");
  po::positional_options_description positional;
  positional.add("model-dir", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe export DIR --torchscript FILE.pt\n\n"
             "Writes the model of DIR (any zoo family, or a torchscript:FILE model kdpipe\n"
             "trained) as a TorchScript module that Python loads with torch.jit.load(FILE) and\n"
             "`kdpipe teach --torchscript` takes back. forward(x)\n"
             "takes images normalised as kdpipe feeds them, (pixel / 255 - mean) / std;\n"
             "classify(images) takes uint8 pixels [B, C, H, W]. The class names, mean, std and\n"
             "input shape are attributes of the module and the extra file kdpipe.json.",
             vm, &positional)) {
    return 0;
  }
  check<ConfigError>(vm.count("model-dir") > 0, "export: name a model directory");
  check<ConfigError>(vm.count("torchscript") > 0 && !vm["torchscript"].as<std::string>().empty(),
                     "--torchscript: the file to write is required");
  const fs::path dir = vm["model-dir"].as<std::string>();
  const fs::path model = fs::is_directory(dir) ? dir / "model.pt" : dir;
  check<ConfigError>(fs::exists(dir), "export ", dir.string(), ": no such directory");
  check<ConfigError>(fs::is_regular_file(model), "export ", dir.string(),
                     ": holds no model.pt (not a kdpipe teacher or student directory; a teacher ",
                     "evaluated with teach --torchscript is TorchScript already)");
  const fs::path out = vm["torchscript"].as<std::string>();
  check_not_an_input(out, model, "--torchscript");
  // Nor any file that makes the model's folder a finished stage (its metrics, its predictions).
  for (const char* name : kFinishedOutputs) {
    check_not_an_input(out, model.parent_path() / name, "--torchscript");
  }
  check_replaceable(out, "--torchscript");
  const LoadedModel loaded = load_model(model);
  export_torchscript(loaded, out);
  std::cout << "exported " << loaded.meta.spec << " (" << loaded.meta.dataset << ", "
            << loaded.meta.classes << " classes) to " << out.string() << "\n";
  return 0;
}

}  // namespace kd::cli
