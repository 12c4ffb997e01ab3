// The built-in bounce classifier (delivery/bounce_classifier.h) over the real replies of
// tests/delivery/data/bounce_replies.tsv, one reply per iteration in turn: the cost of
// classifying one deferral or bounce (items/s; ns per reply = 1e9 / items_per_second).
// BM_EnhancedCodeTableOnly is the floor: the table lookup without the rules.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "delivery/bounce_classifier.h"
#include "delivery/enhanced_code_class.h"

namespace tern::delivery {
namespace {

struct Reply {
  int code = 0;
  std::string enhanced;
  std::string text;
};

std::vector<Reply> Corpus() {
  std::vector<Reply> replies;
  std::ifstream in(TERN_BOUNCE_REPLIES_TSV);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    if (fields.size() != 5) continue;
    Reply reply;
    if (!absl::SimpleAtoi(fields[1], &reply.code)) continue;
    reply.enhanced = fields[2];
    reply.text = fields[3];
    replies.push_back(std::move(reply));
  }
  return replies;
}

void BM_ClassifyCorpusReply(benchmark::State& state) {
  const std::vector<Reply> replies = Corpus();
  auto classifier = BounceClassifier::Create(nullptr);
  if (!classifier.ok() || replies.empty()) {
    state.SkipWithError("no classifier or no corpus");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    const Reply& r = replies[i];
    benchmark::DoNotOptimize((*classifier)->Classify(r.code, r.enhanced, r.text));
    if (++i == replies.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyCorpusReply);

void BM_EnhancedCodeTableOnly(benchmark::State& state) {
  const std::vector<Reply> replies = Corpus();
  if (replies.empty()) {
    state.SkipWithError("no corpus");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    const Reply& r = replies[i];
    benchmark::DoNotOptimize(ClassOfEnhancedCode(r.enhanced));
    if (++i == replies.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnhancedCodeTableOnly);

}  // namespace
}  // namespace tern::delivery
