// The naming policy (lib/core/names.h) and the quoting rules of word lists (lib/core/words.h).
#include "lib/core/names.h"

#include <gtest/gtest.h>

#include "lib/core/error.h"
#include "lib/core/words.h"
#include "tests/support/errors.h"

namespace kd {
namespace {

using testing::error_of;

TEST(Names, PathTextRefusesControlCharactersAndBrokenUtf8) {
  EXPECT_EQ(path_text_problem("runs/o k/'quoted' $(x) `y` #z \\w %j"), "");
  EXPECT_EQ(path_text_problem("runs/caf\xc3\xa9/\xe6\x97\xa5\xf0\x9f\x98\x80"), "");  // é, 日, 😀
  EXPECT_EQ(path_text_problem("o/inj\ntouch PWNED"), "byte 6 is a control character (0x0a)");
  EXPECT_EQ(path_text_problem("a\x7f"), "byte 2 is a control character (0x7f)");
  EXPECT_EQ(path_text_problem("tab\there"), "byte 4 is a control character (0x09)");
  EXPECT_EQ(path_text_problem("x\xff"), "byte 2 is not UTF-8");
  EXPECT_EQ(path_text_problem("x\xc3"), "byte 2 is not UTF-8");              // cut sequence
  EXPECT_EQ(path_text_problem("x\xc0\xaf"), "byte 2 is not UTF-8");          // overlong '/'
  EXPECT_EQ(path_text_problem("x\xed\xa0\x80"), "byte 2 is not UTF-8");      // a surrogate
  EXPECT_EQ(path_text_problem("x\xf4\x90\x80\x80"), "byte 2 is not UTF-8");  // past U+10FFFF
  const std::string e = error_of([] { check_path_text("o/inj\ntouch PWNED", "--out"); });
  EXPECT_EQ(e,
            "--out: 'o/inj\\x0atouch PWNED': byte 6 is a control character (0x0a); expected "
            "valid UTF-8 without control characters (kdpipe writes it into scripts and JSON "
            "records)");
}

TEST(Names, StageFoldersHoldOnlySafeCharacters) {
  EXPECT_TRUE(is_stage_folder("teach/eps0.1-seed0"));
  EXPECT_TRUE(is_stage_folder("distill/eps0-seed0/mlp800-800-T4-a1-seed2"));
  EXPECT_TRUE(is_stage_folder("baseline/smooth0.1/x+y=z_1"));
  for (const char* bad : {"", "a//b", "/a", "a/", "a/../b", ".", "a b", "a'b", "a#b", "a%j", "a\\b",
                          "a$b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(is_stage_folder(bad)) << bad;
  }
  EXPECT_TRUE(is_stage_folder(std::string(128, 'a')));
  EXPECT_FALSE(is_stage_folder(std::string(129, 'a')));
}

TEST(Words, QuotesKeepSpacesAndNothingIsExpanded) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_words("  a  b\tc ", "x"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_words("\"my model.pt\" b.pt", "x"), (V{"my model.pt", "b.pt"}));
  EXPECT_EQ(split_words("'it''s' \"say \\\"hi\\\"\" a\\ b", "x"), (V{"its", "say \"hi\"", "a b"}));
  EXPECT_EQ(split_words("-p debug --comment='a b' $(x) `y` ~", "x"),
            (V{"-p", "debug", "--comment=a b", "$(x)", "`y`", "~"}));
  EXPECT_EQ(split_words("\"\" ''", "x"), (V{"", ""}));
  EXPECT_EQ(split_words("", "x"), V{});
  EXPECT_EQ(error_of([] { split_words("a 'b", "--sbatch"); }),
            "--sbatch: a ' is not closed in 'a 'b'");
  EXPECT_EQ(error_of([] { split_words("a \"b", "--sbatch"); }),
            "--sbatch: a \" is not closed in 'a \"b'");
  EXPECT_NE(error_of([] { split_words("a\\", "--sbatch"); }).find("a \\ ends"), std::string::npos);
}

TEST(Words, QuotedWordsReadBackAsThemselves) {
  const std::vector<std::string> words = {"plain",       "with space", "q'uote", "d\"quote",
                                          "back\\slash", "",           "$(x)",   "tab\tin"};
  EXPECT_EQ(split_words(join_words(words), "x"), words);
  EXPECT_EQ(quote_word("mlp:8"), "mlp:8");  // what needs no quotes is written as it is
  EXPECT_EQ(quote_word("a b"), "\"a b\"");
}

TEST(Names, PrintableKeepsUtf8AndDefusesControlBytes) {
  EXPECT_EQ(printable("caf\xc3\xa9 ok"), "caf\xc3\xa9 ok");
  EXPECT_EQ(printable("a\x1b[2Jb\xff\n"), "a\\x1b[2Jb\\xff\\x0a");
  EXPECT_EQ(printable(""), "");
}

}  // namespace
}  // namespace kd
