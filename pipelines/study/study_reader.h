// Reading a study file, for study.cpp: the table of every key and its default, where each key was
// set, and typed access whose errors name the file, the line and the key.
#pragma once

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/error.h"
#include "lib/core/number_text.h"
#include "lib/core/words.h"
#include "lib/train/trainer.h"
#include "pipelines/study/study.h"

namespace kd::study_file {

namespace fs = std::filesystem;
namespace po = boost::program_options;

/// A key a study file may hold: "section.key", how a resolved study writes its value (the
/// study.ini of a run directory, which reads back as the same study), and its default.
struct StudyKey {
  StudyKey(std::string key, std::string (*writer)(const Study&))
      : name(std::move(key)), write(writer) {}
  std::string name;
  std::string (*write)(const Study&);
  std::string default_value;  ///< write(Study()): the default a study file may leave out
};

/// Every key, section by section, in the order study.ini lists them (study_keys.cpp).
const std::vector<StudyKey>& keys();

/// The study file's text, without a UTF-8 byte-order mark (editors on Windows write one).
std::string study_text(const fs::path& file);

/// Where each key was set, for messages: "section.key" → line number. ConfigError "FILE:LINE: …"
/// for a line that is none of `key = value`, `[section]`, a comment or blank.
std::map<std::string, int> key_lines(const fs::path& file);

class Reader {
 public:
  Reader(fs::path file, po::variables_map vm, std::map<std::string, int> lines)
      : file_(std::move(file)), vm_(std::move(vm)), lines_(std::move(lines)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    const auto at = lines_.find(key);
    throw ConfigError(file_.string() +
                      (at == lines_.end() ? "" : ":" + std::to_string(at->second)) + ": " + key +
                      ": " + what);
  }
  std::string text(const std::string& key) const { return vm_[key].as<std::string>(); }
  /// One path: the whole text (spaces and all), or, when it begins with a quote, the one quoted
  /// word it is (the quoting rules of lists: '…', "…" with \" and \\).
  std::string one_path(const std::string& key) const {
    const std::string t = text(key);
    if (t.empty() || (t[0] != '\'' && t[0] != '"')) return t;
    std::vector<std::string> w;
    try {
      w = split_words(t, "the path");
    } catch (const ConfigError& e) {
      fail(key, e.what());
    }
    if (w.size() != 1) fail(key, "expected one path, got " + std::to_string(w.size()) + " words");
    return w[0];
  }

  std::vector<std::string> words(const std::string& key, bool allow_empty = false) const {
    // Quotes keep a path with spaces one word (lib/core/words.h).
    std::vector<std::string> out;
    try {
      out = split_words(text(key), "the list");
    } catch (const ConfigError& e) {
      fail(key, e.what());
    }
    if (out.empty() && !allow_empty) fail(key, "the list is empty");
    return out;
  }
  double number(const std::string& key, const std::string& w) const {
    // strtod, not stod: a number too small for a double (1e-320) is a number, a tiny one (what
    // it means is the key's to judge); one too large reads as infinity.
    char* end = nullptr;
    const double v = w.empty() ? 0 : std::strtod(w.c_str(), &end);
    // inf and nan read as numbers, but no study value means them: refused here, at planning
    // (and --dry-run), not after the teachers and caches ran.
    if (!w.empty() && end == w.c_str() + w.size() && std::isfinite(v)) return v;
    fail(key, "expected a finite number, got '" + w + "'");
  }
  int64_t whole(const std::string& key, const std::string& w) const {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(w, &used);
      if (used == w.size()) return v;
    } catch (const std::exception&) {
    }
    fail(key, "expected a whole number, got '" + w + "'");
  }
  double one_number(const std::string& key) const { return number(key, single(key)); }
  int64_t one_whole(const std::string& key) const { return whole(key, single(key)); }
  std::vector<double> numbers(const std::string& key, bool allow_empty = false) const {
    std::vector<double> out;
    for (const auto& w : words(key, allow_empty)) out.push_back(number(key, w));
    if (std::set<double>(out.begin(), out.end()).size() != out.size())
      fail(key, "a value is listed twice");
    return out;
  }
  std::vector<std::uint64_t> seeds(const std::string& key) const {
    std::vector<std::uint64_t> out;
    for (const auto& w : words(key)) {
      const int64_t v = whole(key, w);
      if (v < 0) fail(key, "expected seeds >= 0, got " + w);
      out.push_back(static_cast<std::uint64_t>(v));
    }
    if (std::set<std::uint64_t>(out.begin(), out.end()).size() != out.size())
      fail(key, "a seed is listed twice");
    return out;
  }
  /// Exactly N different class indices of a dataset with `classes` classes.
  template <std::size_t N>
  std::array<int64_t, N> classes(const std::string& key, int64_t classes) const {
    const auto w = words(key);
    if (w.size() != N)
      fail(key, "expected " + std::to_string(N) + " class indices, got '" + text(key) + "'");
    std::array<int64_t, N> out{};
    for (std::size_t i = 0; i < N; ++i) {
      out[i] = whole(key, w[i]);
      if (out[i] < 0 || out[i] >= classes)
        fail(key, "expected classes in [0, " + std::to_string(classes) + "), got " + w[i]);
    }
    if (std::set<int64_t>(out.begin(), out.end()).size() != N) fail(key, "a class is listed twice");
    return out;
  }
  bool flag(const std::string& key) const {
    const std::string w = single(key);
    if (w == "true" || w == "yes" || w == "1") return true;
    if (w == "false" || w == "no" || w == "0") return false;
    fail(key, "expected true or false, got '" + w + "'");
  }
  std::string single(const std::string& key) const {
    const auto w = words(key);
    if (w.size() != 1) fail(key, "expected one value, got '" + text(key) + "'");
    return w[0];
  }
  // Runs a parser that throws ConfigError and re-throws it located at `key`.
  template <typename F>
  auto located(const std::string& key, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const ConfigError& e) {
      fail(key, e.what());
    }
  }
  TrainOptions train(const std::string& section) const {
    TrainOptions t;
    t.epochs(one_whole(section + ".epochs"))
        .batch_size(one_whole(section + ".batch-size"))
        .lr(one_number(section + ".lr"))
        .momentum(one_number(section + ".momentum"))
        .weight_decay(one_number(section + ".weight-decay"))
        .schedule(located(section + ".schedule",
                          [&] { return parse_schedule(single(section + ".schedule")); }))
        .ranks(one_whole(section + ".ranks"));
    try {
      t.validate();
    } catch (const ConfigError& e) {
      // The check names its option ("--lr: …"); the study names the key of that option.
      const std::string what = e.what();
      const auto colon = what.find(": ");
      if (what.rfind("--", 0) == 0 && colon != std::string::npos)
        fail(section + "." + what.substr(2, colon - 2), what.substr(colon + 2));
      fail(section, what);
    }
    return t;
  }

 private:
  fs::path file_;
  po::variables_map vm_;
  std::map<std::string, int> lines_;
};

inline std::string join(const std::vector<double>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + exact_text(v[i]);
  return out;
}
template <typename T>
inline std::string join_any(const std::vector<T>& v) {
  std::ostringstream out;
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << v[i];
  return out.str();
}

inline std::string join_paths(const std::vector<fs::path>& v) {
  std::vector<std::string> words;
  for (const fs::path& p : v) words.push_back(p.string());
  return join_words(words);
}

}  // namespace kd::study_file
