// Lists written as words, in study files (`teacher.torchscript = "my model.pt" b.pt`) and in
// options that take several (`--sbatch "-p debug --comment='a b'"`). The rules are a small part
// of the POSIX shell's: words are separated by blanks; '…' keeps everything inside as it is;
// "…" keeps everything but \" and \\, which stand for " and \; a \ outside quotes keeps the
// next character. Nothing is expanded ($, `, * and ~ are plain characters).
#pragma once

#include <string>
#include <vector>

namespace kd {

/// The words of `text`; ConfigError naming `what` for an unterminated quote or a trailing \.
std::vector<std::string> split_words(const std::string& text, const std::string& what);

/// `word` as split_words reads it back: unchanged when it needs no quoting, else in quotes.
std::string quote_word(const std::string& word);

/// The words quoted and joined by single spaces.
std::string join_words(const std::vector<std::string>& words);

}  // namespace kd
