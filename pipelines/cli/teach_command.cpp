#include <iostream>

#include "lib/core/error.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/report/results_reader.h"
#include "teachers/teach.h"

namespace kd::cli {

namespace {

std::pair<int64_t, int64_t> parse_class_pair(const std::string& text) {
  const auto comma = text.find(',');
  try {
    if (comma != std::string::npos) {
      std::size_t used_a = 0, used_b = 0;
      const std::string a = text.substr(0, comma), b = text.substr(comma + 1);
      const int64_t x = std::stoll(a, &used_a), y = std::stoll(b, &used_b);
      if (used_a == a.size() && used_b == b.size()) return {x, y};
    }
  } catch (const std::exception&) {
  }
  throw ConfigError("--mi-classes: expected two class indices as A,B, got '" + text + "'");
}

}  // namespace

int teach_command(const std::vector<std::string>& args) {
  po::options_description teacher("Teacher");
  teacher.add_options()("arch", po::value<std::string>()->default_value("mlp:1200-1200"),
                        "model spec: mlp:W1-W2-..., cnn:W, resnet:20|32|56, alexnet")(
      "smoothing", po::value<double>()->default_value(0.0),
      "label smoothing eps in [0, 1): target (1-eps)*one_hot + eps/K (with --torchscript: the "
      "eps that model was trained with)")(
      "torchscript", po::value<std::string>()->default_value(""),
      "evaluate this TorchScript classifier (trained elsewhere) instead of training a teacher")(
      "input", po::value<std::string>()->default_value("normalized"),
      "with --torchscript, the images it takes: normalized (the dataset's mean and std) or unit "
      "(pixels in [0, 1])")("out", po::value<std::string>(),
                            "output directory (model.pt, metrics.json, train.log)")(
      "mi-classes", po::value<std::string>()->default_value("0,1"),
      "the two classes whose logit difference the MI probe observes")(
      "mi-examples", po::value<int64_t>()->default_value(300),
      "training examples per class in the MI probe")(
      "mi-views", po::value<int64_t>()->default_value(5), "augmented views per MI example");
  po::options_description desc;
  desc.add(teacher).add(data_options()).add(train_options(15)).add(runtime_options());
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe teach --out DIR [options]\n"
             "       kdpipe teach --torchscript FILE [--input normalized|unit] --out DIR\n\n"
             "Trains a teacher with label-smoothed cross-entropy and evaluates it: writes\n"
             "DIR/model.pt, DIR/metrics.json (accuracy, NLL, ECE, temperature scaling, MI\n"
             "per epoch, stability) and DIR/train.log. With --torchscript, evaluates that\n"
             "model the same way instead (metrics.json and train.log; MI at the end only).",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: an output directory is required");
  const auto [a, b] = parse_class_pair(vm["mi-classes"].as<std::string>());
  TeachOptions options;
  options.data(data_options_from(vm))
      .arch(vm["arch"].as<std::string>())
      .smoothing(vm["smoothing"].as<double>())
      .torchscript(vm["torchscript"].as<std::string>())
      .input(vm["input"].as<std::string>())
      .train(train_options_from(vm))
      .mi(MiProbeOptions()
              .class_a(a)
              .class_b(b)
              .examples_per_class(vm["mi-examples"].as<int64_t>())
              .views(vm["mi-views"].as<int64_t>()))
      .out(vm["out"].as<std::string>());
  options.validate();
  options.threads(apply_threads(vm));
  Progress progress = Progress::for_stderr();
  const nlohmann::json metrics = teach(options, progress);
  // What was written, as every later reader reads it.
  const TeacherResult t = read_teacher_metrics(options.out() / "metrics.json", "").result;
  std::cout << "teacher written to " << options.out().string() << ": test accuracy "
            << t.test_accuracy << ", ECE " << t.test_ece << ", final MI " << t.mi_final
            << " nats\n";
  if (metrics["mutual_information"].contains("note"))
    std::cout << "note: " << metrics["mutual_information"]["note"].get<std::string>() << "\n";
  return 0;
}

}  // namespace kd::cli
