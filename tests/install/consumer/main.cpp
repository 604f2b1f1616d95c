// Reads a logit cache and a model checkpoint through the installed kdpipe package.
#include <iostream>

#include "lib/models/zoo.h"
#include "storage/logit_cache.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: read_cache CACHE.h5 MODEL.pt\n";
    return 2;
  }
  const kd::LogitCache cache(argv[1]);
  const kd::CacheHeader& h = cache.header();
  const torch::Tensor logits = cache.logits(0);
  std::cout << "cache " << h.dataset << " " << h.split << " N=" << h.n << " C=" << h.c
            << " teacher=" << h.teacher_arch << " logits=" << logits.sizes()
            << " labels=" << cache.labels().numel()
            << " first_label=" << cache.labels()[0].item<int64_t>() << "\n";
  const kd::LoadedModel model = kd::load_model(argv[2]);
  std::cout << "model " << model.meta.spec << " parameters=" << kd::parameter_count(*model.model)
            << "\n";
  return 0;
}
