// kdpipe's naming policy: what a study name, a run directory (`--out`) and a stage folder may
// hold. Names reach SLURM scripts, JSON records, terminals and other programs' command lines, so
// they are checked once, up front (before `--dry-run` prints anything), not escaped at each use:
//   - any path kdpipe writes into its records or scripts (a run directory, a study file, a
//     dataset path): valid UTF-8 without control characters (bytes 0x00-0x1f and 0x7f);
//   - a study name (one folder under runs/): the same, no / or \, not . or .., at most 100 bytes;
//   - a stage folder (made by kdpipe from the study): letters, digits and . _ - + = only, each
//     component at most 128 bytes (a model spec past 48 characters is shortened and hashed).
#pragma once

#include <string>

namespace kd {

/// Why `text` breaks the path rule ("" when it does not): "byte 5 is a control character (0x0a)",
/// "byte 3 is not UTF-8".
std::string path_text_problem(const std::string& text);

/// ConfigError "`what`: '<text, escaped>' ...: expected valid UTF-8 without control characters".
void check_path_text(const std::string& text, const std::string& what);

/// Whether `id` is a stage folder kdpipe may make: components of [A-Za-z0-9._+=-], 1 to 128
/// bytes, none "." or "..", separated by single '/'.
bool is_stage_folder(const std::string& id);

/// `text` with every byte outside printable ASCII written as \xHH: safe to print in one line.
std::string escaped(const std::string& text);

/// `text` as a terminal may show it: valid UTF-8 kept (é stays é), control characters and bytes
/// that are not UTF-8 written as \xHH, so a file name cannot move the cursor or clear the screen.
std::string printable(const std::string& text);

}  // namespace kd
