#include <iostream>

#include "lib/core/error.h"
#include "lib/core/number_text.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "pipelines/report/results_reader.h"
#include "students/distill.h"

namespace kd::cli {

int distill_command(const std::vector<std::string>& args) {
  const DistillOptions d;  // one source of defaults: the options struct
  po::options_description student("Student");
  student.add_options()(
      "cache", po::value<std::string>()->default_value(""),
      "the teacher's logit cache of the training split (written by `kdpipe cache`)")(
      "arch", po::value<std::string>()->default_value(d.arch()), "student model spec")(
      "temperature",
      po::value<double>()->default_value(d.temperature(), exact_text(d.temperature())),
      "T: teacher targets softmax(z_t/T)")(
      "alpha", po::value<double>()->default_value(d.alpha(), exact_text(d.alpha())),
      "weight of the distillation term; 1-alpha weighs cross-entropy with the labels")(
      "student-temperature",
      po::value<double>()->default_value(d.student_temperature(),
                                         exact_text(d.student_temperature())),
      "the student's temperature in the KL term (0: same as T; 1: Mueller et al.)")(
      "baseline", po::value<std::string>()->default_value("none"),
      "train alone instead: hard (cross-entropy) or smooth (label smoothing, --smoothing)")(
      "smoothing", po::value<double>()->default_value(d.smoothing(), exact_text(d.smoothing())),
      "eps of --baseline smooth")(
      "train-subset", po::value<int64_t>()->default_value(d.train_subset()),
      "learn from this many training examples only (0: all); the same ones for every student")(
      "val-every", po::value<int64_t>()->default_value(d.val_every()),
      "validate every N epochs and after the last (0: after the last only)")(
      "views", po::value<int64_t>()->default_value(d.views().views),
      "baselines without --cache: views per example (epoch e uses view e mod V)")(
      "augment", po::value<std::string>()->default_value(to_string(d.views().augment)),
      "baselines without --cache: augmentation of views 1..V-1")(
      "view-seed", po::value<std::string>()->default_value(std::to_string(d.views().seed)),
      "baselines without --cache: view v of example i is the draw (view-seed, v, i)")(
      "out", po::value<std::string>(), "output directory (model.pt, metrics.json, train.log)");
  po::options_description desc;
  desc.add(student)
      .add(data_options())
      .add(train_options(30, /*with_augment=*/false))
      .add(runtime_options());
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe distill --cache FILE.h5 --out DIR [options]\n"
             "       kdpipe distill --baseline hard|smooth --out DIR [options]\n\n"
             "Trains a student from a teacher's cached logits alone (the teacher is never run):\n"
             "loss (1-alpha)*CE + alpha*Ts^2*KL(softmax(z_t/T) || softmax(z_s/Ts)). At epoch e it\n"
             "sees view e mod V of each example, the input the cached logits were computed on.\n"
             "Writes DIR/model.pt, DIR/metrics.json (accuracy, NLL, ECE, gamma) and DIR/train.log.",
             vm)) {
    return 0;
  }
  check<ConfigError>(vm.count("out") > 0, "--out: an output directory is required");
  DistillOptions options;
  options.data(data_options_from(vm))
      .cache(vm["cache"].as<std::string>())
      .arch(vm["arch"].as<std::string>())
      .temperature(vm["temperature"].as<double>())
      .alpha(vm["alpha"].as<double>())
      .student_temperature(vm["student-temperature"].as<double>())
      .baseline(parse_baseline(vm["baseline"].as<std::string>()))
      .smoothing(vm["smoothing"].as<double>())
      .train_subset(vm["train-subset"].as<int64_t>())
      .val_every(vm["val-every"].as<int64_t>())
      .views({vm["views"].as<int64_t>(), parse_augment(vm["augment"].as<std::string>()),
              seed_option(vm, "view-seed")})
      .train(train_options_from(vm))
      .out(vm["out"].as<std::string>());
  options.validate();
  options.threads(apply_threads(vm));
  Progress progress = Progress::for_stderr();
  const nlohmann::json m = distill(options, progress);
  // What was written, as every later reader reads it.
  const StudentResult r = read_student_metrics(options.out() / "metrics.json", "");
  std::cout << m["kind"].get<std::string>() << " written to " << options.out().string()
            << ": test accuracy " << r.test_accuracy << ", ECE " << r.test_ece << ", target gamma "
            << r.target_gamma << "\n";
  return 0;
}

}  // namespace kd::cli
