// A few lines a person reads after `kdpipe run`: each teacher group's test accuracy, and each
// student group's (mean, min and max over seeds) next to the baselines. The same typed report
// model as the report itself: one reading of the metrics files, one set of means.
#pragma once

#include <string>

#include "pipelines/report/results.h"

namespace kd {

std::string summarize(const Report& report);

}  // namespace kd
