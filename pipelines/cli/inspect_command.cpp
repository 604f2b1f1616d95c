#include <torch/script.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/core/names.h"
#include "lib/core/zip_check.h"
#include "lib/models/zoo.h"
#include "pipelines/cli/commands.h"
#include "pipelines/cli/options.h"
#include "storage/cache_upgrade.h"
#include "storage/logit_cache.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

// Class names as a terminal may show them: a file made elsewhere may hold any bytes in them.
std::string join_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(not recorded)";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + printable(n);
  return out;
}

bool is_hdf5(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == std::string("\x89HDF\r\n\x1a\n", 8);
}

int inspect_cache(const fs::path& path) {
  const LogitCache cache(path);
  const CacheHeader& h = cache.header();
  std::cout << path.string() << ": kdpipe logit cache, format version " << h.format_version << "\n"
            << "  teacher      " << h.teacher_arch << " (" << h.teacher_source << "), smoothing "
            << h.teacher_smoothing << ", seed " << h.teacher_seed << "\n"
            << "  checkpoint   " << h.teacher_checkpoint << " (hash " << h.teacher_checkpoint_hash
            << ")\n"
            << "  data         " << h.dataset << " " << h.split << ", fingerprint "
            << h.dataset_fingerprint << "\n"
            << (h.top_k > 0 ? "  /top_k/indices " : "  /logits      ")
            << (h.top_k > 0 ? (h.c <= 32767 ? "int16" : "int32") : h.dtype) << " [" << h.v << ", "
            << h.n << ", " << h.row_width() << "], chunks of " << h.chunk << " examples\n";
  for (double t : h.temperatures) {
    std::cout << "  " << CacheHeader::probs_path(t)
              << std::string(
                     std::max<int>(1, 13 - static_cast<int>(CacheHeader::probs_path(t).size())),
                     ' ')
              << h.dtype << " [" << h.v << ", " << h.n << ", " << h.row_width() << "]";
    if (h.top_k > 0) {
      // The probability each row leaves out, which the rule rebuilds (the checks below name
      // values that cannot be read as numbers).
      try {
        const double missing =
            (1 - cache.probs(t).to(torch::kFloat64).sum(2)).clamp_min(0).mean().item<double>();
        std::cout << ", mean missing mass " << missing;
      } catch (const StorageError&) {
        std::cout << ", mean missing mass unknown";
      }
    }
    std::cout << "\n";
  }
  const double per_row = static_cast<double>(cache.soft_label_bytes()) /
                         static_cast<double>(std::max<int64_t>(1, h.n * h.v));
  std::cout << "  soft labels  " << (h.top_k > 0 ? "top-" + std::to_string(h.top_k) : "whole rows")
            << (h.top_k > 0 ? ", rows rebuilt by " + to_string(h.top_k_rule) : "") << ", "
            << per_row << " bytes per example and view (file " << fs::file_size(path)
            << " bytes)\n";
  std::cout << "  /labels      int64 [" << h.n << "]\n"
            << "  classes      " << join_names(h.class_names) << "\n"
            << "  views        " << h.v << " (view 0 un-augmented"
            << (h.v > 1 ? "; views 1.." + std::to_string(h.v - 1) + ": " + h.augment + ", seed " +
                              std::to_string(h.augment_seed)
                        : std::string())
            << "), input " << h.input << "\n"
            << "  written by   kdpipe " << h.kdpipe_version << " at " << h.created << "\n";
  if (h.shard_count > 0) {
    std::cout << "  shard        " << h.shard_index << "/" << h.shard_count << ": examples "
              << h.first_example << " to " << h.first_example + h.n
              << " of the split (kdpipe cache-merge joins the shards)\n";
  }
  const std::vector<std::string> problems = cache.verify();
  if (problems.empty()) {
    std::cout << (h.top_k > 0 ? "intact: shapes and attributes agree, classes in range and "
                                "distinct, values finite, largest first, summing to at most 1\n"
                              : "intact: shapes and attributes agree, no NaN or Inf, "
                                "probabilities match softmax(logits / T)\n");
    return 0;
  }
  for (const std::string& p : problems) std::cout << "PROBLEM: " << p << "\n";
  return 1;
}

// kdpipe.json of a file `kdpipe export` wrote, or "" for any other file.
std::string export_description_of(const fs::path& path) {
  torch::jit::ExtraFilesMap extra{{"kdpipe.json", ""}};
  try {
    torch::jit::load(path.string(), torch::kCPU, extra);
  } catch (const std::exception&) {
    return "";
  }
  return extra["kdpipe.json"];
}

int inspect_export(const fs::path& path, const std::string& description) {
  const auto d = nlohmann::json::parse(description);
  std::cout << path.string() << ": TorchScript export of a kdpipe model (torch.jit.load reads it)\n"
            << "  arch         " << d.value("arch", "?") << ", trained on "
            << d.value("dataset", "?") << "\n"
            << "  input        " << d["input_shape"].dump() << ", mean " << d["mean"].dump()
            << ", std " << d["std"].dump() << "\n"
            << "  classes      " << join_names(d["class_names"]) << "\n"
            << "  methods      forward(x): " << d.value("forward", "") << "\n"
            << "               classify(images): " << d.value("classify", "") << "\n"
            << "  hash         " << hash_file(path) << "\n";
  return 0;
}

// A model trained with --input unit records mean 0 and std 1.
bool takes_unit_pixels(const ModelMeta& meta) {
  return !meta.mean.empty() &&
         std::all_of(meta.mean.begin(), meta.mean.end(), [](float v) { return v == 0.0f; }) &&
         std::all_of(meta.std.begin(), meta.std.end(), [](float v) { return v == 1.0f; });
}

int inspect_model(const fs::path& path) {
  const LoadedModel m = load_model(path);
  std::cout << path.string() << ": kdpipe model checkpoint\n"
            << "  arch         " << m.meta.spec << "\n"
            << "  input        " << m.meta.input.text()
            << (m.meta.input.features.empty()
                    ? (takes_unit_pixels(m.meta) ? ", pixels in [0, 1] (--input unit)" : "")
                : m.meta.standardize ? " features, standardised"
                                     : " features, as stored")
            << ", " << m.meta.classes << " classes, trained on " << m.meta.dataset << "\n"
            << "  classes      " << join_names(m.meta.class_names) << "\n"
            << "  parameters   " << parameter_count(*m.model) << "\n"
            << "  hash         " << hash_file(path) << "\n";
  bool finite = true;
  for (const auto& p : m.model->parameters())
    finite = finite && torch::isfinite(p).all().item<bool>();
  std::cout << (finite ? "intact: weights load and are finite\n" : "PROBLEM: non-finite weights\n");
  return finite ? 0 : 1;
}

// `kdpipe inspect CACHE --upgrade`: a format-1 cache made format 2, then inspected.
int upgrade(const fs::path& given, const po::variables_map& vm) {
  check<StorageError>(is_hdf5(given), given.string(),
                      ": not an HDF5 file, so no logit cache to upgrade");
  // Through a link, the file it leads to is upgraded (the link stays a link).
  const fs::path path = fs::canonical(given);
  const CacheHeader h = read_cache_header(path);
  if (h.format_version != 1) {
    std::cout << path.string() << ": format " << h.format_version << " already; unchanged\n";
    return inspect_cache(path);
  }
  // Unless told otherwise: the built-in dataset and the teacher file the cache names.
  DataOptions data = data_options_from(vm);
  if (vm["dataset"].defaulted() && dataset_kind(DataOptions(h.dataset)) == DatasetKind::builtin)
    data.name(h.dataset);
  fs::path teacher = vm["teacher"].as<std::string>();
  if (teacher.empty()) teacher = h.teacher_checkpoint;
  if (fs::is_directory(teacher)) teacher /= "model.pt";  // a teach folder, as `cache --teacher`
  const Dataset d = load_dataset(data);
  const ImageSet& split = h.split == "train" ? d.train : h.split == "val" ? d.val : d.test;
  const CacheUpgrade u = upgrade_cache(path, split, teacher);
  if (u.upgraded) {
    std::cout << path.string() << ": upgraded to format " << kCacheFormatVersion
              << " (data and teacher verified with the old hash)\n"
              << "  dataset fingerprint  " << u.fingerprint_before << " -> " << u.fingerprint_after
              << "\n"
              << "  teacher hash         " << u.teacher_hash_before << " -> "
              << u.teacher_hash_after << "\n";
    for (const auto& [before, after] : u.renamed) {
      std::cout << "  renamed              " << before << " -> " << after << "\n";
    }
  }
  return inspect_cache(path);
}

}  // namespace

int inspect_command(const std::vector<std::string>& args) {
  po::options_description desc("Inspect");
  desc.add_options()("file", po::value<std::string>(), "a logit cache (.h5) or a model checkpoint")(
      "upgrade", po::bool_switch(),
      "rewrite a cache of kdpipe before 0.3 (format 1) as format 2, after checking its data and "
      "teacher with the old hash (give the data options it was made with)")(
      "teacher", po::value<std::string>()->default_value(""),
      "with --upgrade: the teacher's file (default: the one the cache names)");
  desc.add(data_options());
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse(args, desc,
             "Usage: kdpipe inspect FILE\n"
             "       kdpipe inspect CACHE.h5 --upgrade [--teacher FILE] [data options]\n\n"
             "Says what a logit cache or a model checkpoint holds and checks that it is intact.\n"
             "Exit status 0 when intact, 1 when not. --upgrade first rewrites a cache of kdpipe\n"
             "before 0.3 (format 1) as format 2: no logit is recomputed.",
             vm, &positional)) {
    return 0;
  }
  check<ConfigError>(vm.count("file") > 0, "inspect: name a cache or checkpoint file");
  const fs::path path = vm["file"].as<std::string>();
  check_readable_file(path, "inspect");  // "is a directory", "is a FIFO", "no such file"
  if (vm["upgrade"].as<bool>()) return upgrade(path, vm);
  if (is_hdf5(path)) return inspect_cache(path);
  // Named as a cache but not HDF5: say so, rather than that it is no LibTorch archive.
  check<StorageError>(path.extension() != ".h5" && path.extension() != ".hdf5", path.string(),
                      fs::file_size(path) == 0
                          ? ": empty (0 bytes), not a logit cache"
                          : ": not an HDF5 file (a damaged or truncated cache?)");
  // Whole and a LibTorch archive, checked in constant memory before LibTorch reads it whole.
  check_zip_archive<StorageError>(path, "inspect");
  const std::string exported = export_description_of(path);
  return exported.empty() ? inspect_model(path) : inspect_export(path, exported);
}

}  // namespace kd::cli
