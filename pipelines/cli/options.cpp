#include "pipelines/cli/options.h"

#include <iostream>

#include "lib/core/compute.h"
#include "lib/core/error.h"
#include "lib/core/names.h"
#include "lib/core/number_text.h"
#include "lib/core/runtime.h"

namespace kd::cli {

po::options_description data_options() {
  const DataOptions defaults;  // one source of defaults: the options struct
  po::options_description d("Data");
  d.add_options()("dataset", po::value<std::string>()->default_value(defaults.name()),
                  "fashion-mnist, mnist, cifar10, cifar100, an image folder "
                  "(ROOT/train/<class>/*.png|jpg, ROOT/test/<class>/...) or an h5 array file")(
      "data-dir", po::value<std::string>()->default_value(""),
      "directory of a built-in dataset's files (default: /usr/share/datasets/<name>)")(
      "image-size", po::value<std::string>()->default_value(""),
      "convert every image to HxW pixels (default: as stored)")(
      "channels", po::value<int64_t>()->default_value(0),
      "convert every image to 1 (grey) or 3 (RGB) channels (0: as stored)")(
      "val-size", po::value<int64_t>()->default_value(defaults.val_size()),
      "training examples held out for validation (model selection, temperature scaling)")(
      "standardize", po::bool_switch(),
      "feature arrays: standardise each value over the training file (default: as stored)")(
      "feature-noise",
      po::value<double>()->default_value(defaults.feature_noise(),
                                         exact_text(defaults.feature_noise())),
      "feature arrays: std of the Gaussian noise that augments them (views, MI probe), in units "
      "of each value's std");
  return d;
}

DataOptions data_options_from(const po::variables_map& vm) {
  ImageFormat format = parse_image_size(vm["image-size"].as<std::string>());
  format.channels = vm["channels"].as<int64_t>();
  return DataOptions(vm["dataset"].as<std::string>())
      .data_dir(vm["data-dir"].as<std::string>())
      .val_size(vm["val-size"].as<int64_t>())
      .format(format)
      .standardize(vm["standardize"].as<bool>())
      .feature_noise(vm["feature-noise"].as<double>());
}

std::vector<std::string> data_argv(const DataOptions& data) {
  std::vector<std::string> a = {"--dataset", data.name(), "--val-size",
                                std::to_string(data.val_size())};
  if (!data.data_dir().empty()) a.insert(a.end(), {"--data-dir", data.data_dir().string()});
  const ImageFormat& f = data.format();
  if (f.height) a.insert(a.end(), {"--image-size", image_size_text(f)});
  if (f.channels) a.insert(a.end(), {"--channels", std::to_string(f.channels)});
  if (data.standardize()) a.push_back("--standardize");
  if (data.feature_noise() != DataOptions().feature_noise())
    a.insert(a.end(), {"--feature-noise", exact_text(data.feature_noise())});
  return a;
}

po::options_description train_options(int64_t default_epochs, bool with_augment) {
  const TrainOptions t;  // one source of defaults: the options struct
  po::options_description d("Training");
  d.add_options()("epochs", po::value<int64_t>()->default_value(default_epochs),
                  "passes over the training set")(
      "batch-size", po::value<int64_t>()->default_value(t.batch_size()), "examples per SGD step")(
      "lr", po::value<double>()->default_value(t.lr(), exact_text(t.lr())), "peak learning rate")(
      "momentum", po::value<double>()->default_value(t.momentum(), exact_text(t.momentum())),
      "Nesterov momentum (0: plain SGD)")(
      "weight-decay",
      po::value<double>()->default_value(t.weight_decay(), exact_text(t.weight_decay())),
      "L2 weight decay")("schedule",
                         po::value<std::string>()->default_value(to_string(t.schedule())),
                         "learning-rate schedule: constant, cosine, one-cycle or step")(
      "seed", po::value<std::string>()->default_value(std::to_string(t.seed())),
      "seeds weights, shuffling and augmentation")(
      "ranks", po::value<int64_t>()->default_value(t.ranks()),
      "processes that train together, each on an equal share of every batch (data-parallel)");
  if (with_augment) {
    d.add_options()("augment", po::value<std::string>()->default_value(to_string(t.augment())),
                    "none, shift (up to 2 pixels) or shift-flip (also mirror left-right)");
  }
  return d;
}

TrainOptions train_options_from(const po::variables_map& vm) {
  return TrainOptions()
      .epochs(vm["epochs"].as<int64_t>())
      .batch_size(vm["batch-size"].as<int64_t>())
      .lr(vm["lr"].as<double>())
      .momentum(vm["momentum"].as<double>())
      .weight_decay(vm["weight-decay"].as<double>())
      .schedule(parse_schedule(vm["schedule"].as<std::string>()))
      .seed(seed_option(vm, "seed"))
      .ranks(vm["ranks"].as<int64_t>())
      .augment(vm.count("augment") ? parse_augment(vm["augment"].as<std::string>()) : Augment::none)
      .device(resolve_device(vm["device"].as<std::string>()));
}

std::vector<std::string> train_argv(const TrainOptions& t, bool with_augment) {
  std::vector<std::string> a = {"--epochs",       std::to_string(t.epochs()),
                                "--batch-size",   std::to_string(t.batch_size()),
                                "--lr",           exact_text(t.lr()),
                                "--momentum",     exact_text(t.momentum()),
                                "--weight-decay", exact_text(t.weight_decay()),
                                "--schedule",     to_string(t.schedule()),
                                "--seed",         std::to_string(t.seed())};
  if (with_augment) a.insert(a.end(), {"--augment", to_string(t.augment())});
  // A single process's identity is what it was before ranks existed.
  if (t.ranks() != 1) a.insert(a.end(), {"--ranks", std::to_string(t.ranks())});
  return a;
}

po::options_description runtime_options() {
  po::options_description d("Runtime");
  d.add_options()(
      "threads", po::value<int>()->default_value(0),
      "LibTorch threads (0: all cores; with --ranks, each rank's, 0 sharing the cores)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or auto");
  return d;
}

std::uint64_t seed_option(const po::variables_map& vm, const std::string& name) {
  const std::string text = vm[name].as<std::string>();
  // Read as text: Boost reads "-1" as an unsigned 18446744073709551615.
  check<ConfigError>(!text.empty() && text.size() <= 19 &&
                         text.find_first_not_of("0123456789") == std::string::npos,
                     "--", name, ": expected a whole number >= 0 (at most 19 digits), got '",
                     text.substr(0, 40), "'");
  return std::stoull(text);
}

int apply_threads(const po::variables_map& vm) {
  return configure_threads(vm["threads"].as<int>());
}

bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const std::string& usage, po::variables_map& vm,
           const po::positional_options_description* positional) {
  po::options_description all;
  all.add(desc).add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(args);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  // The naming policy (lib/core/names.h) for every text a command takes: paths and names reach
  // JSON records, logs and scripts, where a control character or broken UTF-8 does harm.
  for (const auto& [name, value] : vm) {
    if (const auto* text = boost::any_cast<std::string>(&value.value())) {
      check_path_text(*text, "--" + name);
    } else if (const auto* list = boost::any_cast<std::vector<std::string>>(&value.value())) {
      for (const std::string& item : *list) check_path_text(item, "--" + name);
    }
  }
  return true;
}

}  // namespace kd::cli
