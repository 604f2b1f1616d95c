// Outputs never replace device nodes or FIFOs, reads refuse what is not a regular file or is too
// large, a run's own paths stay inside it, and a lock file can be removed while held.
#include "lib/core/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>

#include "lib/core/error.h"
#include "lib/core/file_identity.h"
#include "lib/core/file_lock.h"
#include "lib/core/hash.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

class Files : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(Files, OutputsDoNotReplaceFifosOrDevices) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { write_text_atomically(fifo, "x"); }),
            "writing " + fifo.string() + ": " + fifo.string() +
                " exists and is a FIFO, not a regular file; kdpipe replaces its outputs and will "
                "not replace it");
  EXPECT_TRUE(fs::is_fifo(fifo));
  // The same node as /dev/full (1, 7), made here: the real one is never touched.
  const fs::path full = dir_ / "full";
  if (::mknod(full.c_str(), S_IFCHR | 0600, ::makedev(1, 7)) != 0)
    GTEST_SKIP() << "mknod not permitted here (not root): the character-device case is untested";
  EXPECT_NE(error_of([&] { write_text_atomically(full, "x"); }).find("is a character device"),
            std::string::npos);
  EXPECT_TRUE(fs::is_character_file(full));
  EXPECT_NO_THROW(check_replaceable(dir_ / "absent", "--out"));
  std::ofstream(dir_ / "file") << "old";
  EXPECT_NO_THROW(write_text_atomically(dir_ / "file", "new"));
  EXPECT_EQ(read_text(dir_ / "file"), "new");
}

TEST_F(Files, ReadsRefuseWhatIsNoRegularFileOrTooLarge) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Refused without opening it: opening a FIFO with no writer would wait for ever.
  EXPECT_EQ(error_of([&] { read_text(fifo); }),
            "reading " + fifo.string() + ": a FIFO, not a regular file");
  EXPECT_EQ(error_of([&] { read_text(dir_.path()); }),
            "reading " + dir_.path().string() + ": a directory, not a regular file");
  EXPECT_EQ(error_of([&] { read_text(dir_ / "none"); }),
            "reading " + (dir_ / "none").string() + ": no such file");
  std::ofstream(dir_ / "big") << "0123456789A";
  EXPECT_NE(error_of([&] { read_text(dir_ / "big", 10); }).find("11 bytes, more than the 10"),
            std::string::npos);
  EXPECT_EQ(read_text(dir_ / "big", 11), "0123456789A");
  EXPECT_EQ(last_line(fifo), "");
}

TEST_F(Files, LastLineReadsOnlyTheTail) {
  std::ofstream out(dir_ / "log");
  out << std::string(1 << 20, 'x') << "\nfirst\nlast line\r\n";
  out.close();
  EXPECT_EQ(last_line(dir_ / "log"), "last line");
}

TEST_F(Files, RunPathsStayInsideTheRun) {
  const fs::path run = dir_ / "run";
  fs::create_directories(run / "teach");
  EXPECT_EQ(inside(run, "teach/metrics.json", "f"), run / "teach/metrics.json");
  EXPECT_EQ(error_of([&] { inside(run, "/etc/shadow", "f"); }),
            "f: '/etc/shadow' is not a path relative to " + run.string());
  EXPECT_EQ(error_of([&] { inside(run, "../../elsewhere/metrics.json", "f"); }),
            "f: '../../elsewhere/metrics.json' climbs out of " + run.string());
  EXPECT_NE(error_of([&] { inside(run, "", "f"); }).find("is not a path relative"),
            std::string::npos);
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", run / "link");
  EXPECT_NE(error_of([&] { inside(run, "link/metrics.json", "f"); }).find("leads out of"),
            std::string::npos);
}

TEST_F(Files, OutputsThatAreInputsAreRefused) {
  fs::create_directories(dir_ / "images/train/a");
  std::ofstream(dir_ / "images/train/a/0.png") << "png";
  std::ofstream(dir_ / "model.pt") << "pt";
  EXPECT_NE(error_of([&] {
              check_not_an_input(dir_ / "images/train/a/0.png", dir_ / "images", "--out");
            }).find("is inside"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_not_an_input(dir_ / "images/new.h5", dir_ / "images", "--out");
            }).find("which this command reads"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              check_not_an_input(dir_ / "./model.pt", dir_ / "model.pt", "--torchscript");
            }).find("--torchscript: "),
            std::string::npos);
  fs::create_hard_link(dir_ / "model.pt", dir_ / "same.pt");
  EXPECT_NE(error_of([&] { check_not_an_input(dir_ / "same.pt", dir_ / "model.pt", "x"); }),
            "no error");
  EXPECT_NO_THROW(check_not_an_input(dir_ / "images.h5", dir_ / "images", "--out"));
  EXPECT_NO_THROW(check_not_an_input(dir_ / "exported.pt", dir_ / "model.pt", "--torchscript"));
}

TEST_F(Files, FinishedOutputsOfAnEarlierRunAreCleared) {
  fs::create_directories(dir_ / "out");
  for (const char* name : {"metrics.json", "model.pt", "predictions.pt", "train.log", "keep"})
    std::ofstream(dir_ / "out" / name) << "earlier";
  clear_finished_outputs(dir_ / "out");
  EXPECT_FALSE(fs::exists(dir_ / "out/metrics.json"));
  EXPECT_FALSE(fs::exists(dir_ / "out/model.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "out/predictions.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "out/keep"));
}

TEST_F(Files, ALockRemovedByItsHolderAdmitsOneNewHolder) {
  const fs::path path = dir_ / "cache.h5.lock";
  FileLock first(path);
  ASSERT_TRUE(first.held());
  // A second writer opened the file while the first held it; it waits its turn.
  FileLock second(path);
  EXPECT_FALSE(second.held());
  first.release_and_remove();
  EXPECT_FALSE(fs::exists(path));
  // After the removal, one new writer holds a new lock file, and a third is refused beside it.
  FileLock third(path);
  EXPECT_TRUE(third.held());
  FileLock fourth(path);
  EXPECT_FALSE(fourth.held());
  third.release_and_remove();
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(Files, ANewRunNeverClearsWhatItReads) {
  fs::create_directories(dir_ / "out");
  std::ofstream(dir_ / "out/model.pt") << "the only copy";
  EXPECT_NE(error_of([&] {
              clear_finished_outputs(dir_ / "out", {dir_ / "out/model.pt"});
            }).find("which this command reads"),
            std::string::npos);
  EXPECT_EQ(read_text(dir_ / "out/model.pt"), "the only copy");
  EXPECT_NO_THROW(clear_finished_outputs(dir_ / "out", {dir_ / "elsewhere.pt", fs::path()}));
  EXPECT_FALSE(fs::exists(dir_ / "out/model.pt"));
}

}  // namespace
}  // namespace kd

namespace kd {
namespace {

// A large input is hashed once; its size and time then stand for it until either changes.
TEST(StoredFileHash, HashesOnceAndAgainOnlyWhenTheFileChanges) {
  const testing::TempDir dir;
  const std::filesystem::path file = dir / "data.h5";
  write_text_atomically(file, "first content");
  const std::string first = stored_file_hash(file);
  EXPECT_EQ(first, hash_file(file));
  ASSERT_TRUE(std::filesystem::is_regular_file(stored_hash_path(file)));
  EXPECT_EQ(stored_hash_path(file).filename(), ".data.h5.kdpipe-hash");

  // The stored record is believed while size and time match: the file is not read again.
  std::string record = read_text(stored_hash_path(file));
  const std::string fake(first.size(), 'f');
  record.replace(record.rfind(first), first.size(), fake);
  write_text_atomically(stored_hash_path(file), record);
  EXPECT_EQ(stored_file_hash(file), fake);

  write_text_atomically(file, "other content, longer");  // new size and time: hashed again
  EXPECT_EQ(stored_file_hash(file), hash_file(file));
  EXPECT_NE(stored_file_hash(file), first);

  // A rewrite in place that sets the old modification time back (as cp -p or rsync -a would) is
  // still seen: the change time moves with every write, and no tool sets it back.
  const std::string current = stored_file_hash(file);
  struct stat before {};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  struct stat after {};
  for (int i = 0; i < 100000; ++i) {  // until the kernel's coarse clock has moved on
    std::fstream(file, std::ios::in | std::ios::out | std::ios::binary).put(i % 2 ? 'x' : 'y');
    ASSERT_EQ(::stat(file.c_str(), &after), 0);
    if (after.st_ctim.tv_nsec != before.st_ctim.tv_nsec ||
        after.st_ctim.tv_sec != before.st_ctim.tv_sec)
      break;
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  EXPECT_EQ(stored_file_hash(file), hash_file(file));
  EXPECT_NE(stored_file_hash(file), current);

  // A damaged record, or one that is no regular file, is ignored (and no FIFO is opened).
  write_text_atomically(stored_hash_path(file), "garbage");
  EXPECT_EQ(stored_file_hash(file), hash_file(file));
  std::filesystem::remove(stored_hash_path(file));
  ASSERT_EQ(::mkfifo(stored_hash_path(file).c_str(), 0600), 0);
  EXPECT_EQ(stored_file_hash(file), hash_file(file));
}

}  // namespace
}  // namespace kd
