// The executor against a stand-in kdpipe (tests/pipelines/stand_in_kdpipe.sh) that writes each
// stage's output in milliseconds: ordering, concurrency, skipping, failure and the manifest,
// without training anything. This file needs no LibTorch, so it is also built under
// ThreadSanitizer (ctest label `tsan`, configured with -DKD_TSAN=ON).
#include "pipelines/study/executor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "lib/core/error.h"
#include "tests/support/paths.h"
#include "tests/support/temp_dir.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

// Teachers t0..t3, each with a cache, and three students per cache: 4 + 4 + 12 stages whose
// dependencies fan out, and one baseline with none.
std::vector<Stage> fan_out(const std::string& failing = "") {
  std::vector<Stage> stages;
  auto add = [&](const std::string& id, StageKind kind, std::vector<std::string> deps,
                 const std::string& output) {
    Stage s;
    s.id = id;
    s.kind = kind;
    s.deps = std::move(deps);
    s.args = {id == failing ? "fail" : to_string(kind)};
    s.out = output.size() > 3 && output.substr(output.size() - 3) == ".h5" ? output : id;
    s.output = output;
    s.input_hash = "hash-of-" + id;
    stages.push_back(s);
  };
  for (int t = 0; t < 4; ++t) {
    const std::string n = std::to_string(t);
    add("teach/t" + n, StageKind::teach, {}, "teach/t" + n + "/metrics.json");
    add("cache/t" + n, StageKind::cache, {"teach/t" + n}, "cache/t" + n + "/cache.h5");
    for (int s = 0; s < 3; ++s) {
      const std::string id = "distill/t" + n + "/s" + std::to_string(s);
      add(id, StageKind::distill, {"cache/t" + n}, id + "/metrics.json");
    }
  }
  add("baseline/hard", StageKind::baseline, {}, "baseline/hard/metrics.json");
  return stages;
}

class ExecutorTest : public ::testing::Test {
 protected:
  ExecuteOptions options(int jobs) const {
    ExecuteOptions o;
    o.run_dir = dir_.path();
    o.kdpipe = fs::path(KD_TEST_SOURCE_DIR) / "tests/pipelines/stand_in_kdpipe.sh";
    o.jobs = jobs;
    o.threads = 1;
    return o;
  }
  std::vector<StageOutcome> run(const std::vector<Stage>& stages, int jobs) {
    return execute_stages(stages, options(jobs), [&](const std::string& line) {
      log_ += line + "\n";  // called with the executor's mutex held
    });
  }
  // The stand-in's record: (event, --out) in the order they happened.
  std::vector<std::pair<std::string, std::string>> events() const {
    std::ifstream in(dir_ / "stand_in.log");
    std::vector<std::pair<std::string, std::string>> out;
    for (std::string event, path; in >> event >> path;) out.emplace_back(event, path);
    return out;
  }
  nlohmann::json manifest() const {
    std::ifstream in(dir_ / "manifest.json");
    return nlohmann::json::parse(in);
  }

  testing::TempDir dir_;
  std::string log_;
};

TEST_F(ExecutorTest, RunsEveryStageAfterItsDependenciesWithAtMostJobsAtOnce) {
  const std::vector<Stage> stages = fan_out();
  const std::vector<StageOutcome> outcomes = run(stages, 4);
  for (const StageOutcome& o : outcomes) {
    EXPECT_EQ(o.state, StageState::done) << o.id << ": " << o.reason;
    EXPECT_TRUE(o.ran) << o.id;
  }
  std::map<std::string, std::size_t> started, ended;
  int running = 0, most = 0;
  const auto ev = events();
  for (std::size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].first == "start") started[ev[i].second] = i, most = std::max(most, ++running);
    if (ev[i].first == "end") ended[ev[i].second] = i, --running;
  }
  EXPECT_EQ(started.size(), stages.size());
  EXPECT_LE(most, 4);
  for (const Stage& s : stages) {
    for (const std::string& d : s.deps) {
      const Stage& dep =
          *std::find_if(stages.begin(), stages.end(), [&](const Stage& x) { return x.id == d; });
      EXPECT_LT(ended.at(dep.out), started.at(s.out))
          << s.id << " started before " << d << " ended";
    }
  }
  const nlohmann::json m = manifest();
  ASSERT_EQ(m["stages"].size(), stages.size());
  for (const auto& s : m["stages"]) {
    EXPECT_EQ(s["state"], "done") << s["id"];
    EXPECT_EQ(s["ran"], true) << s["id"];
    EXPECT_GT(s["seconds"].get<double>(), 0.0) << s["id"];
  }
  // Jobs side by side share the memory: each stage that reads data is given its part.
  for (const Stage& s : stages) {
    std::ifstream in(dir_ / s.id / "stage.json");
    const auto command = nlohmann::json::parse(in)["command"].get<std::vector<std::string>>();
    const auto memory = std::find(command.begin(), command.end(), "--memory");
    EXPECT_EQ(memory != command.end(), s.kind != StageKind::baseline) << s.id;  // "baseline" here
    if (memory != command.end()) {
      EXPECT_GT(std::stoll(*(memory + 1)), 0) << s.id;
    }
  }
  EXPECT_NE(log_.find("[21/21]"), std::string::npos) << log_;
}

TEST_F(ExecutorTest, FinishedStagesAreSkippedAndChangedOnesRerunWithTheirDependants) {
  std::vector<Stage> stages = fan_out();
  run(stages, 4);
  const std::size_t first = events().size();
  for (const StageOutcome& o : run(stages, 4)) {
    EXPECT_EQ(o.state, StageState::done) << o.id;
    EXPECT_FALSE(o.ran) << o.id;
  }
  EXPECT_EQ(events().size(), first);  // nothing ran
  const nlohmann::json after = manifest();
  for (const auto& s : after["stages"]) EXPECT_EQ(s["ran"], false) << s["id"];

  // New input hashes for teacher 2's cache and, as plan_stages chains them, its students: those
  // run, nothing else.
  for (Stage& s : stages) {
    if (s.id == "cache/t2" || s.id.rfind("distill/t2/", 0) == 0) s.input_hash += "-changed";
  }
  std::set<std::string> reran;
  for (const StageOutcome& o : run(stages, 4)) {
    if (o.ran) reran.insert(o.id);
  }
  EXPECT_EQ(reran,
            (std::set<std::string>{"cache/t2", "distill/t2/s0", "distill/t2/s1", "distill/t2/s2"}));
}

TEST_F(ExecutorTest, AFailedStageBlocksItsDependantsAndTheManifestEndsComplete) {
  const std::vector<StageOutcome> outcomes = run(fan_out("cache/t1"), 4);
  std::map<std::string, StageOutcome> by_id;
  for (const StageOutcome& o : outcomes) by_id[o.id] = o;
  EXPECT_EQ(by_id["cache/t1"].state, StageState::failed);
  EXPECT_NE(by_id["cache/t1"].reason.find("exit status 3: stand-in: failing as asked"),
            std::string::npos)
      << by_id["cache/t1"].reason;
  for (int s = 0; s < 3; ++s) {
    const StageOutcome& o = by_id["distill/t1/s" + std::to_string(s)];
    EXPECT_EQ(o.state, StageState::blocked) << o.id;
    EXPECT_EQ(o.reason, "cache/t1 did not finish");
  }
  EXPECT_EQ(by_id["distill/t3/s2"].state, StageState::done);
  EXPECT_EQ(by_id["teach/t1"].state, StageState::done);
  const nlohmann::json m = manifest();
  for (const auto& s : m["stages"]) {
    EXPECT_NE(s["state"], "running") << s["id"];
    EXPECT_NE(s["state"], "pending") << s["id"];
  }
  // The failed stage's record says so, in the manifest's words.
  std::ifstream record(dir_ / "cache/t1/stage.json");
  EXPECT_EQ(nlohmann::json::parse(record)["state"], "failed");
}

// A stage whose folder cannot be made (a file stands in its place) fails; what reads it is
// blocked; the rest runs, and the manifest ends with every stage in a final state.
TEST_F(ExecutorTest, AStageThatCannotStartFailsAndBlocksItsDependants) {
  fs::create_directories(dir_ / "teach");
  std::ofstream(dir_ / "teach" / "t0") << "in the way";
  std::map<std::string, StageState> state;
  for (const StageOutcome& o : run(fan_out(), 4)) state[o.id] = o.state;
  EXPECT_EQ(state["teach/t0"], StageState::failed);
  EXPECT_EQ(state["cache/t0"], StageState::blocked);
  EXPECT_EQ(state["distill/t0/s1"], StageState::blocked);
  EXPECT_EQ(state["teach/t1"], StageState::done);
  EXPECT_NE(log_.find("FAILED teach/t0"), std::string::npos) << log_;
  const nlohmann::json m = manifest();
  for (const auto& s : m["stages"]) EXPECT_NE(s["state"], "running") << s["id"];
}

// As a concurrent `kdpipe run` or cluster job does while it runs teach/t0: the stage is left
// alone (its record untouched), and runs once that process is gone.
TEST_F(ExecutorTest, AStageAnotherProcessIsRunningIsLeftAlone) {
  const fs::path lock_path = dir_ / "teach" / "t0" / "stage.lock";
  fs::create_directories(lock_path.parent_path());
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::map<std::string, StageOutcome> busy;
  for (const StageOutcome& o : run(fan_out(), 4)) busy[o.id] = o;
  EXPECT_EQ(busy["teach/t0"].state, StageState::failed);
  EXPECT_NE(busy["teach/t0"].reason.find("another kdpipe process is running it now"),
            std::string::npos)
      << busy["teach/t0"].reason;
  EXPECT_EQ(busy["cache/t0"].state, StageState::blocked);
  EXPECT_FALSE(fs::exists(dir_ / "teach" / "t0" / "stage.json"));
  ::close(fd);  // that process ends
  int ran = 0;
  for (const StageOutcome& o : run(fan_out(), 4)) ran += o.ran;
  EXPECT_EQ(ran, 5);  // teach/t0, its cache and its three students
}

// A finished stage whose metrics file was damaged afterwards is not done: it runs again.
TEST_F(ExecutorTest, AStageWithADamagedOutputRunsAgain) {
  const std::vector<Stage> stages = fan_out();
  run(stages, 2);
  std::ofstream(dir_ / "distill/t2/s1/metrics.json") << R"({"stand_in": tr)";  // truncated
  std::set<std::string> reran;
  for (const StageOutcome& o : run(stages, 2)) {
    if (o.ran) reran.insert(o.id);
  }
  EXPECT_EQ(reran, std::set<std::string>{"distill/t2/s1"});
  ExecuteOptions dry = options(1);
  dry.dry_run = true;
  std::ofstream(dir_ / "teach/t3/metrics.json") << "";
  for (const StageOutcome& o : execute_stages(stages, dry, [](const std::string&) {})) {
    if (o.id == "teach/t3") {
      EXPECT_EQ(o.reason, "its output teach/t3/metrics.json is damaged (not valid JSON)");
    }
  }
}

// A second whole run of the same directory while the first is going on does nothing and says
// why; every stage runs once.
TEST_F(ExecutorTest, ASecondRunOfOneDirectoryLeavesItAlone) {
  const std::vector<Stage> stages = fan_out();
  std::thread first([&] { run(stages, 1); });
  while (!fs::exists(dir_ / "stand_in.log"))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string refused;
  try {
    execute_stages(stages, options(4), [](const std::string&) {});
  } catch (const Error& e) {
    refused = e.what();
  }
  first.join();
  EXPECT_NE(refused.find("another kdpipe run is running this study now"), std::string::npos)
      << refused;
  std::map<std::string, int> starts;
  for (const auto& [event, out] : events()) starts[out] += event == "start";
  EXPECT_EQ(starts.size(), stages.size());
  for (const auto& [out, n] : starts) EXPECT_EQ(n, 1) << out;
  const nlohmann::json m = manifest();
  for (const auto& s : m["stages"]) EXPECT_EQ(s["state"], "done") << s["id"];
}

TEST_F(ExecutorTest, ADryRunListsWhatWouldRunAndRunsNothing) {
  ExecuteOptions o = options(4);
  o.dry_run = true;
  const auto outcomes = execute_stages(fan_out(), o, [](const std::string&) {});
  for (const StageOutcome& s : outcomes) {
    EXPECT_EQ(s.state, StageState::pending) << s.id;
    EXPECT_EQ(s.reason, "new");
  }
  EXPECT_FALSE(fs::exists(dir_ / "stand_in.log"));
  EXPECT_FALSE(fs::exists(dir_ / "manifest.json"));
}

}  // namespace
}  // namespace kd
