// Numbers as text that reads back as the same number: what study files, stage command lines and
// input hashes carry between processes.
#pragma once

#include <string>

namespace kd {

/// The shortest "%g" form (6 to 17 significant digits) that parses back to exactly `v`: 0.1 is
/// "0.1", 5e-4 is "0.0005", 0.12345678 stays "0.12345678".
std::string exact_text(double v);

}  // namespace kd
