#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "pipelines/report/report_model.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

using json = nlohmann::json;

json group(const std::string& kind, json teacher_eps, json t, double mean, double lo, double hi) {
  return {{"kind", kind},
          {"teacher_smoothing", teacher_eps},
          {"temperature", t},
          {"accuracy_mean", mean},
          {"accuracy_min", lo},
          {"accuracy_max", hi},
          {"n", 3}};
}

json teachers(double hard_acc, double smooth_acc) {
  return json::array({{{"smoothing", 0.0}, {"test_accuracy", hard_acc}},
                      {{"smoothing", 0.1}, {"test_accuracy", smooth_acc}}});
}

TEST(Verdict, ClaimsOnlyWhatTheSeedRangesSeparate) {
  const json separated = json::array({group("distill", 0.0, 2.0, 0.87, 0.869, 0.871),
                                      group("distill", 0.1, 2.0, 0.86, 0.859, 0.861),
                                      group("hard", nullptr, nullptr, 0.85, 0.849, 0.851)});
  const json v = verdict(teachers(0.88, 0.89), separated);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_NE(v[0].get<std::string>().find("label smoothing 0 teaches best"), std::string::npos)
      << v[0];
  EXPECT_NE(v[0].get<std::string>().find("do not overlap"), std::string::npos) << v[0];
  EXPECT_NE(v[1].get<std::string>().find("not the better teacher"), std::string::npos) << v[1];
  EXPECT_NE(v[2].get<std::string>().find("Distillation beat training alone"), std::string::npos)
      << v[2];

  const json overlapping = json::array({group("distill", 0.0, 2.0, 0.866, 0.860, 0.871),
                                        group("distill", 0.1, 4.0, 0.864, 0.858, 0.868),
                                        group("smooth", nullptr, nullptr, 0.862, 0.855, 0.867)});
  const json w = verdict(teachers(0.88, 0.87), overlapping);
  EXPECT_NE(w[0].get<std::string>().find("the seeds do not separate"), std::string::npos) << w[0];
  EXPECT_NE(w[1].get<std::string>().find("also the more accurate"), std::string::npos) << w[1];
  EXPECT_NE(w[2].get<std::string>().find("did not clearly beat"), std::string::npos) << w[2];
}

TEST(Report, RefusesADirectoryThatIsNotARun) {
  testing::TempDir dir;
  EXPECT_THROW(build_report(dir.path()), StorageError);
}

}  // namespace
}  // namespace kd
