// AppendJsonString (core/json_writer.h) on what the delivery log writes: ASCII replies and
// addresses (the common case), valid non-ASCII UTF-8, and bytes that are not UTF-8 (each
// escaped as \u00XX). Reported as bytes/s of input; ns/byte = 1e9 / bytes_per_second.
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "core/json_writer.h"

namespace tern::core {
namespace {

std::string AsciiText(size_t bytes) {
  static constexpr char kReply[] =
      "250 2.0.0 Ok: queued as 4Q1x2K0pQbz1 <user.name+tag@example.com> ";
  std::string out;
  while (out.size() < bytes) out += kReply;
  out.resize(bytes);
  return out;
}

// German, Greek, CJK and emoji: 2-, 3- and 4-byte characters among ASCII.
std::string Utf8Text(size_t bytes) {
  static constexpr char kMixed[] =
      "550 Empf\xc3\xa4nger unbekannt \xce\xb1\xce\xb2\xce\xb3 \xe5\x8f\x97\xe4\xbf\xa1\xe8\x80"
      "\x85 \xf0\x9f\x93\xa7 ";
  std::string out;
  while (out.size() + sizeof(kMixed) < bytes) out += kMixed;
  while (out.size() < bytes) out += 'x';
  return out;
}

// Latin-1 text from a legacy server: one invalid byte in every few.
std::string Latin1Text(size_t bytes) {
  static constexpr char kLatin1[] =
      "550 Empf\xe4nger unbekannt, Gr\xfc\xdf"
      "e ";
  std::string out;
  while (out.size() < bytes) out += kLatin1;
  out.resize(bytes);
  return out;
}

// Random bytes: the worst case (half of them not UTF-8).
std::string RandomBytes(size_t bytes) {
  std::mt19937_64 rng(1);
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>(rng()));
  return out;
}

template <std::string (*kMake)(size_t)>
void BM_AppendJsonString(benchmark::State& state) {
  const std::string text = kMake(static_cast<size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendJsonString(text, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK_TEMPLATE(BM_AppendJsonString, AsciiText)->Arg(40)->Arg(300)->Arg(4096);
BENCHMARK_TEMPLATE(BM_AppendJsonString, Utf8Text)->Arg(300)->Arg(4096);
BENCHMARK_TEMPLATE(BM_AppendJsonString, Latin1Text)->Arg(300)->Arg(4096);
BENCHMARK_TEMPLATE(BM_AppendJsonString, RandomBytes)->Arg(300)->Arg(4096);

}  // namespace
}  // namespace tern::core
