// tern-bench: Tern's load tools in one binary.
//   tern-bench source --target=HOST:PORT ...   load generator (source_main.cc)
//   tern-bench sink --listen=HOST:PORT ...     receiving sink (sink_main.cc)
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/tern_bench/modes.h"

namespace {

constexpr char kUsage[] =
    "tern-bench MODE [flags]\n"
    "  tern-bench source --target=HOST:PORT [--connections=N --messages=N | --duration=S ...]\n"
    "  tern-bench sink --listen=HOST:PORT [--record=FILE --tempfail_rate=... ...]\n"
    "tern-bench MODE --help lists the flags.";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  if (argc < 2 || (std::strcmp(argv[1], "source") != 0 && std::strcmp(argv[1], "sink") != 0)) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const bool source = std::strcmp(argv[1], "source") == 0;
  std::vector<char*> args;
  args.push_back(argv[0]);
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  return source ? tern::bench::RunSource() : tern::bench::RunSink();
}
