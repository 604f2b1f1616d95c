// The report's figures: gnuplot scripts and data beside the PNG and SVG they draw.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "lib/core/child_process.h"
#include "lib/core/error.h"
#include "lib/core/files.h"
#include "pipelines/report/report_text.h"
#include "pipelines/report/report_writers.h"

namespace kd {

namespace fs = std::filesystem;
using report_text::num;
using report_text::plain;
using report_text::student_label;

namespace {

// A gnuplot string literal holding `text` as it is: single quotes, in which gnuplot interprets
// nothing but a doubled quote. Class names and paths come from the user's files, and a name that
// closed a double-quoted string could run gnuplot commands (system(), say). Line breaks would end
// the command: they become spaces.
std::string gnuplot_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "''";
    } else {
      out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
  return out + "'";
}

// A block title in the .tsv's comment line: one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

// Whether the last bytes of the file at `path` hold `tail` (a PNG's IEND chunk, an SVG's closing
// tag and its line breaks): a file gnuplot finished.
bool ends_with(const fs::path& path, const std::string& tail) {
  std::string text;
  try {
    text = read_text(path);
  } catch (const StorageError&) {
    return false;  // gnuplot never wrote it
  }
  const std::size_t from = text.size() > tail.size() + 4 ? text.size() - tail.size() - 4 : 0;
  return text.find(tail, from) != std::string::npos;
}

// One figure: data blocks (a title and rows each) written as a .tsv, a gnuplot script that
// draws every block as one series, and the PNG and SVG it makes.
struct Figure {
  Figure(std::string n, std::string t, std::string x, std::string y)
      : name(std::move(n)), title(std::move(t)), xlabel(std::move(x)), ylabel(std::move(y)) {}
  std::string name, title, xlabel, ylabel, style = "linespoints", extra;
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> blocks;
  int errorbars = 0;  ///< 1: columns x, y, ylow, yhigh drawn with error bars
};

// One colour per teacher ε in every figure: a series whose title names "eps X" gets the colour
// of X's place among the report's teachers; students trained alone get greys.
class Palette {
 public:
  explicit Palette(const std::vector<TeacherResult>& teachers) {
    for (const TeacherResult& t : teachers) eps_.push_back(t.smoothing);
    std::sort(eps_.begin(), eps_.end());
    eps_.erase(std::unique(eps_.begin(), eps_.end()), eps_.end());
  }
  /// " lc rgb '#1f77b4'", or "" for a series of no teacher (gnuplot picks).
  std::string line_colour(const std::string& title) const {
    static const char* kTeachers[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    if (title.rfind("alone", 0) == 0 || title.rfind("students alone", 0) == 0) {
      return title.find("smoothing") != std::string::npos ? " lc rgb '#888888'"
                                                          : " lc rgb '#444444'";
    }
    const auto at = title.find("eps ");
    if (at == std::string::npos) return "";
    const double eps = std::strtod(title.c_str() + at + 4, nullptr);
    const auto it = std::find(eps_.begin(), eps_.end(), eps);
    if (it == eps_.end()) return "";
    return std::string(" lc rgb '") + kTeachers[(it - eps_.begin()) % 8] + "'";
  }

 private:
  std::vector<double> eps_;
};

FigureFiles draw(const Figure& f, const fs::path& dir, const Palette& palette) {
  std::ostringstream tsv;
  for (std::size_t b = 0; b < f.blocks.size(); ++b) {
    if (b) tsv << "\n\n";
    tsv << "# " << one_line(f.blocks[b].first) << "\n";
    for (const auto& row : f.blocks[b].second) {
      for (std::size_t c = 0; c < row.size(); ++c) tsv << (c ? "\t" : "") << row[c];
      tsv << "\n";
    }
  }
  write_text_atomically(dir / (f.name + ".tsv"), tsv.str());
  std::ostringstream gp;
  gp << "# Draws " << f.name << ".png and " << f.name << ".svg from " << f.name
     << ".tsv; run: gnuplot " << f.name << ".gp\n"
     << "set title " << gnuplot_quoted(f.title) << "\nset xlabel " << gnuplot_quoted(f.xlabel)
     << "\nset ylabel " << gnuplot_quoted(f.ylabel)
     << "\nset key below\nset grid\nset offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n"
     << f.extra;
  std::ostringstream plot;
  plot << "plot ";
  for (std::size_t b = 0; b < f.blocks.size(); ++b) {
    plot << (b ? ", \\\n     " : "") << "'" << f.name << ".tsv' index " << b
         << (f.errorbars ? " using 1:2:3:4 with yerrorlines" : " using 1:2 with " + f.style)
         << palette.line_colour(f.blocks[b].first) << " title "
         << gnuplot_quoted(f.blocks[b].first);
  }
  // The script a user reruns writes the final names; the one run here writes temporary names,
  // renamed only once gnuplot has written each file whole (it can exit 0 on a full disk).
  const auto drawing = [&](const std::string& png, const std::string& svg) {
    return gp.str() + "set terminal pngcairo noenhanced size 900,540\nset output '" + png + "'\n" +
           plot.str() + "\nset terminal svg noenhanced size 900,540\nset output '" + svg + "'\n" +
           plot.str() + "\n";
  };
  const std::string png = f.name + ".png", svg = f.name + ".svg";
  // gnuplot writes temporary names that are renamed over these: never over a device or FIFO.
  for (const std::string& name : {png, svg}) check_replaceable(dir / name, "writing the figure");
  write_text_atomically(dir / (f.name + ".gp"), drawing(png, svg));
  const fs::path tmp_png = temporary_path_for(dir / png), tmp_svg = temporary_path_for(dir / svg);
  const fs::path run_script = temporary_path_for(dir / (f.name + ".gp"));
  write_text_atomically(run_script,
                        drawing(tmp_png.filename().string(), tmp_svg.filename().string()));
  // No shell: the run directory's name reaches nothing that interprets it. gnuplot's warnings go
  // to figures/gnuplot.log, not the terminal.
  const int status =
      run_child({"gnuplot", run_script.filename().string()}, dir, dir / "gnuplot.log");
  std::error_code ignored;
  fs::remove(run_script, ignored);
  const bool whole =
      status == 0 && ends_with(tmp_png, "IEND\xae\x42\x60\x82") && ends_with(tmp_svg, "</svg>");
  if (!whole) {
    fs::remove(tmp_png, ignored);
    fs::remove(tmp_svg, ignored);
    throw StorageError((dir / (f.name + ".gp")).string() + ": gnuplot " +
                       (status == 0 ? "wrote incomplete figures" : "failed") + " (see " +
                       (dir / "gnuplot.log").string() +
                       (status == 0 ? "; is the disk full?)" : "; is gnuplot-nox installed?)"));
  }
  for (const auto& [tmp, final_name] : {std::pair{tmp_png, png}, std::pair{tmp_svg, svg}}) {
    std::error_code ec;
    fs::rename(tmp, dir / final_name, ec);
    check<StorageError>(!ec, "writing ", (dir / final_name).string(), ": ", ec.message());
  }
  const std::string stem = "figures/" + f.name;
  return {f.name, f.title, stem + ".png", stem + ".svg", stem + ".gp", stem + ".tsv"};
}

// x, the group's mean test accuracy and its 95% interval (a bar of zero length with one seed).
std::vector<double> mean_and_interval(double x, const StudentGroup& g) {
  const double mean = g.accuracy_mean;
  return g.accuracy_ci95
             ? std::vector<double>{x, mean, (*g.accuracy_ci95)[0], (*g.accuracy_ci95)[1]}
             : std::vector<double>{x, mean, mean, mean};
}

std::string teacher_title(const TeacherResult& t) {
  return "eps " + plain(t.smoothing) + ", seed " + std::to_string(t.seed);
}

// A figure an earlier report drew that this one did not (a teacher since removed from the
// study) would sit beside the new ones as if current: the figures folder holds this report's
// files only. Regular files and links are removed (a link, not what it leads to); folders stay.
void remove_other_figures(const fs::path& dir, const std::vector<FigureFiles>& figures) {
  std::set<std::string> keep = {"gnuplot.log"};
  for (const FigureFiles& f : figures) {
    for (const std::string& file : {f.png, f.svg, f.gp, f.tsv}) {
      keep.insert(fs::path(file).filename().string());
    }
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    std::error_code ec;
    const fs::file_type type = e.symlink_status(ec).type();
    if ((type == fs::file_type::regular || type == fs::file_type::symlink) &&
        keep.count(e.path().filename().string()) == 0) {
      fs::remove(e.path(), ec);
    }
  }
}

}  // namespace

std::vector<FigureFiles> write_figures(const Report& report, const fs::path& report_dir) {
  const fs::path dir = inside(report_dir, "figures", "the report's figures folder");
  ensure_directory(dir);
  check<StorageError>(std::system("command -v gnuplot > /dev/null 2>&1") == 0,
                      "report: gnuplot not found (apt-get install gnuplot-nox)");
  std::vector<FigureFiles> figures;
  const Palette palette(report.teachers);

  // Student accuracy against temperature, a line per teacher ε; students alone as flat lines.
  Figure acc_t{"student_accuracy_vs_temperature", "Student test accuracy against temperature",
               "temperature T", "test accuracy (mean; bars: 95% t interval over seeds)"};
  acc_t.errorbars = 1;
  std::map<std::string, std::vector<std::vector<double>>> series;
  double t_lo = 1e300, t_hi = 0;
  for (const StudentGroup& g : report.students) {
    if (g.key.source != StudentSource::distill) continue;
    const double t = *g.key.temperature;
    t_lo = std::min(t_lo, t), t_hi = std::max(t_hi, t);
    series[student_label(g.key) + ", alpha " + plain(g.key.alpha) + ", " + g.key.arch].push_back(
        mean_and_interval(t, g));
  }
  for (const StudentGroup& g : report.students) {
    if (g.key.source == StudentSource::distill || t_hi == 0) continue;
    for (double t : {t_lo, t_hi}) {
      series[student_label(g.key) + ", " + g.key.arch].push_back(mean_and_interval(t, g));
    }
  }
  for (auto& [title, rows] : series) {
    std::sort(rows.begin(), rows.end());
    acc_t.blocks.emplace_back(title, rows);
  }
  if (!acc_t.blocks.empty()) figures.push_back(draw(acc_t, dir, palette));

  // Student accuracy against γ, the smoothness of the targets it learned from (Müller fig. 5).
  Figure acc_g{"student_accuracy_vs_gamma", "Student accuracy against target smoothness gamma",
               "gamma of the targets", "test accuracy (mean over seeds)"};
  acc_g.style = "points pointsize 1.5";
  std::map<std::string, std::vector<std::vector<double>>> by_source;
  for (const StudentGroup& g : report.students) {
    const std::string source =
        g.key.source == StudentSource::distill ? student_label(g.key) : "students alone";
    by_source[source].push_back({g.gamma_mean, g.accuracy_mean});
  }
  for (auto& [title, rows] : by_source) {
    std::sort(rows.begin(), rows.end());
    acc_g.blocks.emplace_back(title, rows);
  }
  if (!acc_g.blocks.empty()) figures.push_back(draw(acc_g, dir, palette));

  // Mutual information over training, a line per teacher (Müller fig. 6).
  Figure mi{"teacher_mutual_information", "Mutual information between input and logits", "epoch",
            "I(X; Y) estimate, nats"};
  for (const TeacherResult& t : report.teachers) {
    std::vector<std::vector<double>> rows;
    int epoch = 1;
    for (double v : t.mi_per_epoch) rows.push_back({static_cast<double>(epoch++), v});
    mi.blocks.emplace_back(teacher_title(t), rows);
  }
  if (!mi.blocks.empty()) figures.push_back(draw(mi, dir, palette));

  // Reliability diagrams: accuracy against confidence in each non-empty bin (Guo et al.).
  Figure rel{"teacher_reliability", "Teacher reliability on the test set (15 bins)",
             "confidence (mean in bin)", "accuracy in bin"};
  rel.blocks.emplace_back("perfect calibration", std::vector<std::vector<double>>{{0, 0}, {1, 1}});
  for (const TeacherResult& t : report.teachers) {
    std::vector<std::vector<double>> rows;
    for (const ReliabilityBin& bin : t.reliability) {
      if (bin.count > 0) rows.push_back({bin.confidence, bin.accuracy});
    }
    rel.blocks.emplace_back(teacher_title(t), rows);
  }
  if (rel.blocks.size() > 1) figures.push_back(draw(rel, dir, palette));

  // Penultimate-layer projections, one figure per teacher (Müller fig. 1).
  for (const TeacherResult& t : report.teachers) {
    if (!t.projection) continue;
    const std::string tag = "eps" + plain(t.smoothing) + "-seed" + std::to_string(t.seed);
    Figure proj{"teacher_projection_" + tag,
                "Penultimate layer on the plane of three class templates, teacher " + tag,
                "template plane, axis 1", "template plane, axis 2"};
    proj.style = "points pointsize 0.6";
    const Projection& p = *t.projection;
    for (const std::string split : {"train", "test"}) {
      for (std::size_t c = 0; c < p.classes.size(); ++c) {
        std::vector<std::vector<double>> rows;
        for (const Projection::Point& pt : p.points) {
          if (pt.split == split && pt.cls == static_cast<int64_t>(c)) rows.push_back({pt.x, pt.y});
        }
        proj.blocks.emplace_back(p.classes[c] + " (" + split + ")", rows);
      }
    }
    figures.push_back(draw(proj, dir, palette));
  }

  // Teacher accuracy against the accuracy of its best student.
  Figure tvs{"teacher_vs_best_student", "Teacher accuracy against its best student's",
             "teacher test accuracy", "best student test accuracy (mean over seeds)"};
  tvs.style = "points pointsize 1.5";
  for (const TeacherResult& t : report.teachers) {
    double best = -1;
    for (const StudentGroup& g : report.students) {
      if (g.key.source == StudentSource::distill && g.key.teacher_smoothing == t.smoothing) {
        best = std::max(best, g.accuracy_mean);
      }
    }
    if (best >= 0) {
      tvs.blocks.emplace_back("eps " + plain(t.smoothing),
                              std::vector<std::vector<double>>{{t.test_accuracy, best}});
    }
  }
  if (!tvs.blocks.empty()) figures.push_back(draw(tvs, dir, palette));
  remove_other_figures(dir, figures);
  return figures;
}

}  // namespace kd
