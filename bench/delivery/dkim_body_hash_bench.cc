// DKIM's relaxed body hash (delivery/dkim_canonicalization.h) over a stored 4 KiB body of
// text lines, beside the peer that bounds it: one SHA-256 of the same bytes, no
// canonicalization. The ratio of the two is the cost of canonicalizing.
#include <openssl/evp.h>

#include <string>

#include "benchmark/benchmark.h"
#include "delivery/dkim_canonicalization.h"

namespace tern::delivery {
namespace {

std::string TextBody(size_t bytes) {
  std::string body;
  while (body.size() < bytes) {
    body += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\r\n";
    body += ".a stuffed line, then an empty one\r\n\r\n";
  }
  return body;
}

void BM_RelaxedBodyHash(benchmark::State& state) {
  const std::string body = TextBody(state.range(0));
  for (auto _ : state) {
    RelaxedBodyHash hash;
    hash.Update(body);
    benchmark::DoNotOptimize(hash.Finish());
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_RelaxedBodyHash)->Arg(4096)->Arg(65536);

void BM_Sha256Only(benchmark::State& state) {
  const std::string body = TextBody(state.range(0));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  for (auto _ : state) {
    EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_Sha256Only)->Arg(4096)->Arg(65536);

}  // namespace
}  // namespace tern::delivery
