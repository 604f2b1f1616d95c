// What identifies a teach or distill run for its checkpoint, and the faults the tests inject
// into it (declared in stage_options.h, beside the argv the key is made of).
#include <cstdlib>

#include "lib/core/file_identity.h"
#include "lib/core/hash.h"
#include "lib/models/zoo.h"
#include "pipelines/cli/stage_options.h"
#include "pipelines/study/stage_identity.h"

namespace kd::cli {

namespace {

std::string key_of(const std::string& command, const std::vector<std::string>& argv,
                   const DataOptions& data, const std::string& arch,
                   const std::filesystem::path& cache) {
  Hasher h;
  h.update(command);
  for (const std::string& a : argv) h.update(a);
  h.update(data_identity(canonical(data)));
  const ModelSpec spec = parse_model_spec(arch);
  if (spec.family == "torchscript") h.update(stored_file_hash(spec.file));
  if (!cache.empty()) h.update(stored_file_hash(cache));
  return h.hex();
}

}  // namespace

// A checkpoint holds no trace of the ranks that wrote it: any number may resume it.
std::string resume_key(const TeachOptions& o) {
  TeachOptions any_ranks = o;
  any_ranks.train().ranks(1);
  return key_of("teach", teach_argv(any_ranks), o.data(), o.arch(), {});
}

std::string resume_key(const DistillOptions& o) {
  DistillOptions any_ranks = o;
  any_ranks.train().ranks(1);
  return key_of("distill", distill_argv(any_ranks), o.data(), o.arch(), o.cache());
}

ResumeOptions resume_options(const std::string& key, int rank) {
  ResumeOptions r;
  r.key(key);
  // KDPIPE_FAULT_RANK=r: only that rank of a data-parallel stage has the fault.
  if (const char* only = std::getenv("KDPIPE_FAULT_RANK"); only && std::atoi(only) != rank)
    return r;
  if (const char* fault = std::getenv("KDPIPE_FAULT_STOP_AT_STEP"))
    r.stop_at_step(std::atoll(fault));
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AFTER_EPOCHS"))
    r.kill_after_epochs(std::atoll(fault));
  if (const char* fault = std::getenv("KDPIPE_FAULT_KILL_AT_STEP"))
    r.kill_at_step(std::atoll(fault));
  return r;
}

}  // namespace kd::cli
