// LogitCache's insides, shared by its reading (logit_cache.cpp) and checking
// (logit_cache_verify.cpp).
#pragma once

#include <string>
#include <vector>

#include "storage/h5.h"
#include "storage/logit_cache.h"

namespace kd {

struct LogitCache::Impl {
  std::filesystem::path path;
  h5::Handle file;
  CacheHeader header;
  h5::Handle half;

  /// Examples [row_begin, row_begin + rows) of views [view_begin, view_begin + views) of the
  /// floating-point dataset `name`, [views, rows, C or K], as float32 (as stored with
  /// `keep_stored_type`); with `finite_only`, StorageError when any value is NaN or infinite.
  torch::Tensor read_rows(const std::string& name, int64_t view_begin, int64_t views,
                          int64_t row_begin, int64_t rows, bool finite_only = true,
                          bool keep_stored_type = false) const;
  /// The same of a top-k cache's classes, int16 (int32 past 32767 classes); all views unless
  /// `views` is given.
  torch::Tensor read_classes(int64_t row_begin, int64_t rows, int64_t view_begin = 0,
                             int64_t views = -1) const;
  /// StorageError naming the dataset and the first damaged row of top-k rows `values` and
  /// `classes` [V, n, K] at temperature t, examples from `first`.
  void check_top_k(double t, const torch::Tensor& values, const torch::Tensor& classes,
                   int64_t first) const;
  /// /labels of examples [row_begin, row_begin + rows).
  torch::Tensor read_labels(int64_t row_begin, int64_t rows) const;
  /// Opens the file and checks its header and every dataset's shape.
  void open();
  void expect_shape(const std::string& name, const std::vector<hsize_t>& want) const;
  /// The checks of logit_cache_verify.cpp: what is wrong with the whole file, block by block.
  std::vector<std::string> verify_full() const;
  std::vector<std::string> verify_top_k() const;
  /// Examples per block of a check: a bounded amount of memory whatever N the file declares.
  int64_t check_block() const;
};

}  // namespace kd
