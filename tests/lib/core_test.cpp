// The small core helpers every layer leans on: number text, the hasher, the ZIP check, the JSON
// reader and child processes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>

#include "lib/core/child_process.h"
#include "lib/core/dependency_runner.h"
#include "lib/core/error.h"
#include "lib/core/files.h"
#include "lib/core/hash.h"
#include "lib/core/json_reader.h"
#include "lib/core/number_text.h"
#include "lib/core/zip_check.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

TEST(ExactText, IsTheShortestTextThatReadsBack) {
  EXPECT_EQ(exact_text(0.1), "0.1");
  EXPECT_EQ(exact_text(5e-4), "0.0005");
  EXPECT_EQ(exact_text(4), "4");
  EXPECT_EQ(exact_text(2.0000001), "2.0000001");
  EXPECT_EQ(exact_text(1e-45), "1e-45");
  EXPECT_EQ(exact_text(1.0 / 3), "0.3333333333333333");
  for (double v : {0.1, 1.0 / 3, 2.0000001, 2.0000002, 1e300, -7.25e-12,
                   std::numeric_limits<double>::denorm_min(), std::nextafter(1.0, 2.0)}) {
    EXPECT_EQ(std::strtod(exact_text(v).c_str(), nullptr), v) << exact_text(v);
  }
  EXPECT_NE(exact_text(2.0000001), exact_text(2.0000002));
}

std::string hex_of_bytes(const std::string& bytes) {
  Hasher h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

TEST(Hasher, IsXxh3Of128BitsOverTheBytesAloneHoweverTheyArrive) {
  // XXH3-128 of "" and of "abc", as xxHash's own reference gives them (xxhsum -H2).
  EXPECT_EQ(hex_of_bytes(""), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(hex_of_bytes("abc"), "06b05ab6733a618578af5f94892f3950");
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  Hasher parts;
  parts.update(text.data(), 1).update(text.data() + 1, 8).update(text.data() + 9, 40);
  parts.update(text.data() + 49, text.size() - 49);
  EXPECT_EQ(parts.hex(), hex_of_bytes(text));  // how the bytes arrive does not matter
  testing::TempDir dir;
  std::ofstream(dir / "f") << text;
  EXPECT_EQ(hash_file(dir / "f"), hex_of_bytes(text));
  // A copy continues from where the original was.
  Hasher copy = parts;
  copy.update("x", 1);
  EXPECT_EQ(copy.hex(), hex_of_bytes(text + "x"));
}

// What FNV-1a over 64-bit words missed: bit 63 of two words flipped together.
TEST(Hasher, FlippingTheTopBitOfTwoWordsChangesTheDigest) {
  std::string bytes(16, '\0');
  const std::string before = hex_of_bytes(bytes);
  bytes[7] = static_cast<char>(0x80);
  bytes[15] = static_cast<char>(0x80);
  EXPECT_NE(hex_of_bytes(bytes), before);
  Hasher a, b;
  a.update(std::string("ab")).update(std::string("c"));
  b.update(std::string("a")).update(std::string("bc"));
  EXPECT_NE(a.hex(), b.hex());  // texts are framed by their length
}

// A minimal stored (method 0) ZIP archive of the entries given, as LibTorch lays them out.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, central;
  auto u16 = [](std::string& s, uint32_t v) { s += char(v & 255), s += char((v >> 8) & 255); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xffff), u16(s, v >> 16); };
  for (const auto& [name, data] : entries) {
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
    const auto offset = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50), u16(out, 20), u16(out, 0), u16(out, 0), u16(out, 0), u16(out, 0);
    u32(out, crc), u32(out, data.size()), u32(out, data.size());
    u16(out, name.size()), u16(out, 0);
    out += name + data;
    u32(central, 0x02014b50), u16(central, 20), u16(central, 20), u16(central, 0);
    u16(central, 0), u16(central, 0), u16(central, 0);
    u32(central, crc), u32(central, data.size()), u32(central, data.size());
    u16(central, name.size()), u16(central, 0), u16(central, 0), u16(central, 0), u16(central, 0);
    u32(central, 0), u32(central, offset);
    central += name;
  }
  const auto at = static_cast<uint32_t>(out.size());
  out += central;
  u32(out, 0x06054b50), u16(out, 0), u16(out, 0), u16(out, entries.size()),
      u16(out, entries.size());
  u32(out, central.size()), u32(out, at), u16(out, 0);
  return out;
}

TEST(ZipCheck, AcceptsWholeArchivesAndNamesEachKindOfDamage) {
  testing::TempDir dir;
  const std::string good = zip_of({{"m/data.pkl", "pickle"}, {"m/version", "3\n"}});
  const auto problem_of = [&](const std::string& bytes) {
    std::ofstream(dir / "a.pt", std::ios::binary) << bytes;
    return error_of([&] { check_zip_archive<StorageError>(dir / "a.pt", "loading"); });
  };
  EXPECT_EQ(problem_of(good), "no error");
  std::string flipped = good;
  flipped[42] ^= 1;  // a byte of the first entry's data (30-byte header, 10-byte name)
  EXPECT_NE(problem_of(flipped).find("entry 'm/data.pkl' fails its CRC-32 check"),
            std::string::npos);
  EXPECT_NE(problem_of(good.substr(0, good.size() - 10)).find("no ZIP end record"),
            std::string::npos);
  EXPECT_NE(problem_of("PK").find("too short"), std::string::npos);
  EXPECT_NE(problem_of(zip_of({{"m/data.pkl", "p"}})).find("no entry m/version"),
            std::string::npos);
  EXPECT_NE(problem_of(std::string(100000, '\0')).find("no ZIP end record"), std::string::npos);
  fs::create_directory(dir / "d.pt");
  EXPECT_NE(error_of([&] {
              check_zip_archive<StorageError>(dir / "d.pt", "loading");
            }).find("a directory, not a regular file"),
            std::string::npos);
}

TEST(JsonReader, NamesTheFileAndTheField) {
  testing::TempDir dir;
  std::ofstream(dir / "m.json") << R"({"test": {"accuracy": 5, "name": "x"}, "list": [1]})";
  const JsonDocument doc(dir / "m.json");
  const std::string f = (dir / "m.json").string();
  EXPECT_EQ(error_of([&] { doc["test"]["accuracy"].number_in(0, 1); }),
            f + ": field 'test.accuracy' is 5, outside [0, 1]");
  EXPECT_EQ(error_of([&] { doc["test"]["nll"]; }), f + ": field 'test.nll' is missing");
  EXPECT_EQ(error_of([&] { doc["list"][3]; }), f + ": field 'list[3]' is missing");
  EXPECT_NE(error_of([&] { doc["test"]["name"].number(); }).find("field 'test.name'"),
            std::string::npos);
  std::ofstream(dir / "bad.json") << "{\"a\": ";
  EXPECT_NE(error_of([&] { JsonDocument{dir / "bad.json"}; }).find("not valid JSON at byte"),
            std::string::npos);
  std::ofstream(dir / "empty.json").flush();
  EXPECT_NE(error_of([&] { JsonDocument{dir / "empty.json"}; }).find("(the file is empty)"),
            std::string::npos);
}

TEST(ChildProcess, ArgumentsArriveAsTheyAreAndTheStatusComesBack) {
  testing::TempDir dir;
  const std::string odd = "a b '\"$(touch PWNED)`x`;|&\\";
  const int status =
      run_child({"sh", "-c", "printf '%s|%s|%s\\n' \"$1\" \"$PWD\" \"$KD_X\"; exit 3", "sh", odd},
                dir.path(), dir / "log", {"KD_X=seen"});
  EXPECT_EQ(status, 3);
  EXPECT_EQ(read_text(dir / "log"), odd + "|" + dir.path().string() + "|seen\n");
  EXPECT_FALSE(fs::exists(dir / "PWNED"));
  EXPECT_EQ(run_child({"/no/such/program"}, dir.path(), dir / "log2"), 127);
  EXPECT_EQ(run_child({"sh", "-c", "kill -9 $$"}, dir.path(), dir / "log3"), 128 + 9);
}

// A log that is a FIFO would block the child, and this call, for ever.
TEST(ChildProcess, ALogThatIsNoRegularFileIsRefusedBeforeStarting) {
  testing::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "log").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] {
              run_child({"true"}, dir.path(), dir / "log");
            }).find("exists and is a FIFO, not a regular file"),
            std::string::npos);
}

}  // namespace
}  // namespace kd

namespace kd {
namespace {

// A task that takes every slot runs alone; tasks of one slot run side by side; dependencies
// hold.
TEST(DependencyOrder, ATaskOfSeveralSlotsRunsOnlyWithItsSlotsFree) {
  std::mutex mutex;
  int running = 0, most = 0, most_beside_big = 0;
  bool big_running = false;
  std::vector<int> finished_at(6, -1);
  int finished = 0;
  const std::vector<std::vector<std::size_t>> deps = {{}, {}, {}, {0}, {}, {}};
  const std::vector<int> slots = {1, 3, 1, 1, 1, 5};  // 5 > jobs: takes all of them
  run_in_dependency_order(
      deps, 3,
      [&](std::size_t i) {
        {
          const std::lock_guard<std::mutex> lock(mutex);
          ++running;
          most = std::max(most, running);
          if (slots[i] >= 3) big_running = true;
          if (big_running) most_beside_big = std::max(most_beside_big, running);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const std::lock_guard<std::mutex> lock(mutex);
        if (slots[i] >= 3) big_running = false;
        --running;
        finished_at[i] = finished++;
      },
      slots);
  EXPECT_EQ(most_beside_big, 1);
  EXPECT_GE(most, 2);
  EXPECT_LE(most, 3);
  EXPECT_LT(finished_at[0], finished_at[3]);
  for (const int f : finished_at) EXPECT_GE(f, 0);
}

}  // namespace
}  // namespace kd

namespace kd {
namespace {

// A relative log is the caller's path, whatever folder the child runs in.
TEST(ChildProcess, ARelativeLogIsTheCallersNotTheChilds) {
  const testing::TempDir dir;
  fs::create_directories(dir / "caller");
  fs::create_directories(dir / "child");
  const fs::path was = fs::current_path();
  fs::current_path(dir / "caller");
  const int status = run_child({"sh", "-c", "echo said"}, dir / "child", "child.log");
  fs::current_path(was);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(read_text(dir / "caller" / "child.log"), "said\n");
}

}  // namespace
}  // namespace kd
