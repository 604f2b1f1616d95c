// LogitCache::verify(): the whole file read block by block and what is wrong with it listed.
#include <cmath>
#include <sstream>

#include "lib/core/error.h"
#include "storage/cache_header_h5.h"
#include "storage/logit_cache_impl.h"
#include "storage/top_k.h"

namespace kd {

namespace {

// /labels outside [0, C), block by block; "" when none.
std::string labels_problem(const LogitCache::Impl& m, int64_t block) {
  const CacheHeader& h = m.header;
  for (int64_t first = 0; first < h.n; first += block) {
    const torch::Tensor y = m.read_labels(first, std::min(block, h.n - first));
    if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= h.c)
      return "/labels: values outside [0, " + std::to_string(h.c) + ")";
  }
  return "";
}

}  // namespace

std::vector<std::string> LogitCache::Impl::verify_full() const {
  const CacheHeader& h = header;
  // Block by block, so memory stays bounded whatever N the file declares (a few KB of compressed
  // zeros can declare millions of rows).
  const int64_t block = check_block();
  const double tol = h.dtype == "float16" ? 2e-3 : 1e-5;
  int64_t bad = 0;
  std::vector<double> worst(h.temperatures.size(), 0.0);
  std::vector<std::string> unreadable(h.temperatures.size());
  for (int64_t first = 0; first < h.n; first += block) {
    const int64_t rows = std::min(block, h.n - first);
    torch::Tensor z;
    try {
      z = read_rows("/logits", 0, h.v, first, rows, /*finite_only=*/false);
    } catch (const StorageError& e) {
      return {e.what()};
    }
    bad += (~torch::isfinite(z)).sum().item<int64_t>();
    for (std::size_t k = 0; k < h.temperatures.size(); ++k) {
      if (!unreadable[k].empty()) continue;
      const double t = h.temperatures[k];
      try {
        const torch::Tensor p =
            read_rows(CacheHeader::probs_path(t), 0, h.v, first, rows, /*finite_only=*/false);
        if (const int64_t nonfinite = (~torch::isfinite(p)).sum().item<int64_t>(); nonfinite > 0) {
          unreadable[k] = CacheHeader::probs_path(t) + ": holds values that are NaN or Inf (" +
                          std::to_string(nonfinite) + " among examples " + std::to_string(first) +
                          " to " + std::to_string(first + rows - 1) + ")";
          continue;
        }
        const torch::Tensor want = torch::softmax(z.to(torch::kFloat64) / t, 2);
        const double err = (p.to(torch::kFloat64) - want).abs().max().item<double>();
        worst[k] = std::isnan(err) ? err : std::max(worst[k], err);  // NaN stays
      } catch (const StorageError& e) {
        unreadable[k] = e.what();
      }
    }
  }
  std::vector<std::string> problems;
  if (bad > 0) problems.push_back("/logits: " + std::to_string(bad) + " values are NaN or Inf");
  for (std::size_t k = 0; k < h.temperatures.size(); ++k) {
    if (!unreadable[k].empty()) {
      problems.push_back(unreadable[k]);
    } else if (!(worst[k] <= tol)) {
      const double t = h.temperatures[k];
      std::ostringstream msg;
      msg << CacheHeader::probs_path(t) << ": differs from softmax(logits / " << t << ") by up to "
          << worst[k] << " (tolerance " << tol << ")";
      problems.push_back(msg.str());
    }
  }
  if (std::string p = labels_problem(*this, block * h.v * h.c); !p.empty()) problems.push_back(p);
  return problems;
}

std::vector<std::string> LogitCache::Impl::verify_top_k() const {
  const CacheHeader& h = header;
  const int64_t block = check_block();
  std::vector<std::string> problems;
  // Each dataset's first problem, named: a damaged row as "DATASET: what", one unreadable as the
  // reader's own error (which names it).
  std::string classes_problem;
  std::vector<std::string> values_problem(h.temperatures.size());
  const std::string indices = CacheHeader::kTopKIndicesPath;
  const auto named = [](const std::string& dataset, const std::string& problem) {
    return problem.empty() ? problem : dataset + ": " + problem;
  };
  for (int64_t first = 0; first < h.n; first += block) {
    const int64_t rows = std::min(block, h.n - first);
    try {
      if (classes_problem.empty())
        classes_problem =
            named(indices, top_k_classes_problem(read_classes(first, rows), h.c, first));
    } catch (const StorageError& e) {
      classes_problem = e.what();
    }
    for (std::size_t k = 0; k < h.temperatures.size(); ++k) {
      if (!values_problem[k].empty()) continue;
      try {
        const std::string name = CacheHeader::probs_path(h.temperatures[k]);
        values_problem[k] = named(
            name, top_k_values_problem(read_rows(name, 0, h.v, first, rows, /*finite_only=*/false),
                                       h.c, first));
      } catch (const StorageError& e) {
        values_problem[k] = e.what();
      }
    }
  }
  if (!classes_problem.empty()) problems.push_back(classes_problem);
  for (const std::string& p : values_problem) {
    if (!p.empty()) problems.push_back(p);
  }
  if (std::string p = labels_problem(*this, block * h.v * h.c); !p.empty()) problems.push_back(p);
  return problems;
}

}  // namespace kd
