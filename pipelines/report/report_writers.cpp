#include "pipelines/report/report_writers.h"

#include <sstream>

#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/report/report_model.h"
#include "pipelines/report/report_text.h"

namespace kd {

namespace fs = std::filesystem;
using json = nlohmann::json;
using report_text::interval;
using report_text::num;
using report_text::plain;
using report_text::student_label;

std::string render_markdown(const json& r) {
  std::ostringstream o;
  o << "# kdpipe report\n\nRun `" << r["run_dir"].get<std::string>() << "`, kdpipe "
    << r["kdpipe_version"].get<std::string>() << ", " << r["created"].get<std::string>() << ".\n\n"
    << "## Verdict\n\n";
  for (const auto& line : r["verdict"]) o << "- " << line.get<std::string>() << "\n";
  o << "\n## Teachers\n\n| ε | seed | arch | test acc. | NLL | ECE | T (val) | ECE after T | final "
       "MI | stability |\n"
    << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const json& t : r["teachers"]) {
    o << "| " << plain(t["smoothing"]) << " | " << t["seed"] << " | "
      << t["arch"].get<std::string>() << " | " << num(t["test_accuracy"]) << " | "
      << num(t["test_nll"]) << " | " << num(t["test_ece"]) << " | " << num(t["temperature"], 3)
      << " | " << num(t["test_ece_after_temperature"]) << " | " << num(t["mi_final"], 3) << " | "
      << num(t["stability"]) << " |\n";
  }
  o << "\n## Students\n\n| learns from | T | α | arch | test acc. mean | 95% interval | seeds | "
       "ECE | γ |\n"
    << "|---|---|---|---|---|---|---|---|---|\n";
  for (const json& g : r["students"]) {
    o << "| " << student_label(g) << " | " << plain(g["temperature"]) << " | " << plain(g["alpha"])
      << " | " << g["arch"].get<std::string>() << " | " << num(g["accuracy_mean"]) << " | "
      << interval(g) << " | " << g["n"] << " | " << num(g["ece_mean"]) << " | "
      << num(g["gamma_mean"], 3) << " |\n";
  }
  o << "\n## Figures\n\n";
  for (const json& f : r["figures"]) {
    o << "### " << f["title"].get<std::string>() << "\n\n![" << f["title"].get<std::string>()
      << "](" << f["png"].get<std::string>() << ")\n\nData: `" << f["tsv"].get<std::string>()
      << "`, script: `" << f["gp"].get<std::string>() << "`.\n\n";
  }
  return o.str();
}

std::string render_html(const json& r) {
  auto esc = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '<')
        out += "&lt;";
      else if (c == '>')
        out += "&gt;";
      else if (c == '&')
        out += "&amp;";
      else if (c == '"')
        out += "&quot;";
      else if (c == '\'')
        out += "&#39;";
      else
        out += c;
    }
    return out;
  };
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kdpipe "
       "report</title>\n"
    << "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
       "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%}"
       "</style></head><body>\n<h1>kdpipe report</h1>\n<p>Run <code>"
    << esc(r["run_dir"].get<std::string>()) << "</code>, kdpipe " << esc(r["kdpipe_version"])
    << ", " << esc(r["created"]) << ".</p>\n<h2>Verdict</h2>\n<ul>\n";
  for (const auto& line : r["verdict"]) o << "<li>" << esc(line.get<std::string>()) << "</li>\n";
  o << "</ul>\n<h2>Teachers</h2>\n<table><tr><th>ε</th><th>seed</th><th>arch</th><th>test acc.</th>"
       "<th>NLL</th><th>ECE</th><th>T (val)</th><th>ECE after T</th><th>final MI</th>"
       "<th>stability</th></tr>\n";
  for (const json& t : r["teachers"]) {
    o << "<tr><td>" << plain(t["smoothing"]) << "</td><td>" << t["seed"] << "</td><td>"
      << esc(t["arch"]) << "</td><td>" << num(t["test_accuracy"]) << "</td><td>"
      << num(t["test_nll"]) << "</td><td>" << num(t["test_ece"]) << "</td><td>"
      << num(t["temperature"], 3) << "</td><td>" << num(t["test_ece_after_temperature"])
      << "</td><td>" << num(t["mi_final"], 3) << "</td><td>" << num(t["stability"])
      << "</td></tr>\n";
  }
  o << "</table>\n<h2>Students</h2>\n<table><tr><th>learns from</th><th>T</th><th>α</th>"
       "<th>arch</th><th>test acc. mean</th><th>95% interval</th><th>seeds</th><th>ECE</th>"
       "<th>γ</th></tr>\n";
  for (const json& g : r["students"]) {
    o << "<tr><td>" << esc(student_label(g)) << "</td><td>" << plain(g["temperature"])
      << "</td><td>" << plain(g["alpha"]) << "</td><td>" << esc(g["arch"]) << "</td><td>"
      << num(g["accuracy_mean"]) << "</td><td>" << interval(g) << "</td><td>" << g["n"]
      << "</td><td>" << num(g["ece_mean"]) << "</td><td>" << num(g["gamma_mean"], 3)
      << "</td></tr>\n";
  }
  o << "</table>\n<h2>Figures</h2>\n";
  for (const json& f : r["figures"]) {
    o << "<figure><img src=\"" << esc(f["svg"]) << "\" alt=\"" << esc(f["title"])
      << "\"><figcaption>" << esc(f["title"]) << " — data <code>" << esc(f["tsv"])
      << "</code>, script <code>" << esc(f["gp"]) << "</code></figcaption></figure>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

json write_report(const fs::path& run_dir) {
  json report = build_report(run_dir);
  const fs::path dir = run_dir / "report";
  ensure_directory(dir);
  report["figures"] = write_figures(report, dir);
  write_text_atomically(dir / "report.json", report.dump(2) + "\n");
  write_text_atomically(dir / "report.md", render_markdown(report));
  write_text_atomically(dir / "report.html", render_html(report));
  return report;
}

}  // namespace kd
