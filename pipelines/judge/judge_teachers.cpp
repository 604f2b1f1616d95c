#include "pipelines/judge/judge_teachers.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "lib/core/error.h"
#include "lib/core/file_identity.h"
#include "storage/teacher_model.h"

namespace kd {

namespace fs = std::filesystem;

namespace {

std::string folder_word(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 32))
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out.empty() ? "teacher" : out;
}

NamedTeacher one_teacher(const std::string& spec) {
  NamedTeacher out;
  std::string path = spec;
  // PATH=EPS: the text after the last '=' when it reads whole as a number (a path may hold '=').
  if (const auto eq = spec.rfind('='); eq != std::string::npos && eq + 1 < spec.size()) {
    const std::string eps = spec.substr(eq + 1);
    char* end = nullptr;
    const double v = std::strtod(eps.c_str(), &end);
    if (end == eps.c_str() + eps.size()) {
      check<ConfigError>(std::isfinite(v) && v >= 0 && v < 1, "--teacher ", spec,
                         ": expected the label smoothing after '=' in [0, 1), got ", eps);
      path = spec.substr(0, eq);
      out.teacher.smoothing = v;
      out.smoothing = v;
    }
  }
  check<ConfigError>(!path.empty(), "--teacher: expected PATH or PATH=EPS, got '", spec, "'");
  out.given = path;
  const fs::path p = fs::absolute(path).lexically_normal();
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) {
    out.teacher.torchscript = p;
    out.content_hash = stored_file_hash(p);
    out.teacher.name = "ts-" + folder_word(p.stem().string()) + "-" + out.content_hash.substr(0, 8);
    return out;
  }
  check<ConfigError>(fs::is_directory(p, ec), "--teacher ", path,
                     ": no such file or directory (a TorchScript file or a kdpipe teacher "
                     "directory)");
  check<ConfigError>(fs::is_regular_file(p / "model.pt", ec) && fs::exists(p / "metrics.json", ec),
                     "--teacher ", path,
                     ": not a kdpipe teacher directory (it needs model.pt and metrics.json, as "
                     "`kdpipe teach --out DIR` writes them; for a TorchScript file name the file)");
  out.teacher.directory = p;
  out.content_hash = stored_file_hash(p / "model.pt");
  if (!out.smoothing) {  // the directory says what it was trained with
    const double recorded = TeacherModel::from_checkpoint(p).smoothing();
    if (recorded >= 0) out.smoothing = out.teacher.smoothing = recorded;
  }
  out.teacher.name =
      "dir-" + folder_word(p.filename().string()) + "-" + out.content_hash.substr(0, 8);
  return out;
}

}  // namespace

std::vector<NamedTeacher> judged_teachers(const std::vector<std::string>& specs) {
  check<ConfigError>(!specs.empty(), "--teacher: name at least one teacher");
  std::vector<NamedTeacher> out;
  std::set<std::string> names;
  for (const std::string& spec : specs) {
    NamedTeacher t = one_teacher(spec);
    for (const NamedTeacher& other : out) {
      const fs::path& a =
          t.teacher.torchscript.empty() ? t.teacher.directory : t.teacher.torchscript;
      const fs::path& b =
          other.teacher.torchscript.empty() ? other.teacher.directory : other.teacher.torchscript;
      std::error_code ec;
      check<ConfigError>(!fs::equivalent(a, b, ec), "--teacher: ", t.given,
                         " is given twice (also as ", other.given,
                         "): judge compares different teachers");
    }
    const std::string base = t.teacher.name;
    for (int k = 2; names.count(t.teacher.name); ++k)
      t.teacher.name = base + "-" + std::to_string(k);
    names.insert(t.teacher.name);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> identical_teachers(const std::vector<NamedTeacher>& teachers) {
  std::vector<std::string> out;
  for (std::size_t a = 0; a < teachers.size(); ++a) {
    for (std::size_t b = a + 1; b < teachers.size(); ++b) {
      if (teachers[a].content_hash != teachers[b].content_hash) continue;
      out.push_back(teachers[a].given + " and " + teachers[b].given +
                    " are the same model (identical contents): judged as two teachers, they "
                    "teach alike");
    }
  }
  return out;
}

}  // namespace kd
