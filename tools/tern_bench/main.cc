// tern-bench: Tern's load tools in one binary.
//   tern-bench source --target=HOST:PORT ...   load generator (source_main.cc)
//   tern-bench sink --listen=HOST:PORT ...     receiving sink (sink_main.cc)
//   tern-bench --help | MODE --help | --version
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "tools/program_usage.h"
#include "tools/tern_bench/modes.h"

namespace {

constexpr char kUsage[] =
    "tern-bench MODE [flags]\n"
    "  tern-bench source --target=HOST:PORT [--connections=N --messages=N | --duration=S ...]\n"
    "  tern-bench sink --listen=HOST:PORT [--record=FILE --tempfail_rate=... ...]\n"
    "tern-bench MODE --help lists the mode's flags; tern-bench --help lists them all.";

constexpr char kCommonFlags[] = "tools/tern_bench/common_flags.cc";
constexpr char kSourceFlags[] = "tools/tern_bench/source_main.cc";
constexpr char kSinkFlags[] = "tools/tern_bench/sink_main.cc";

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "source") {
    tern::tools::ConfigureProgramUsage(
        {.program = "tern-bench",
         .summary = "tern-bench source: an SMTP load generator (io_uring); reports msgs/s and "
                    "latency percentiles.\nusage: tern-bench source --target=HOST:PORT [flags]",
         .flag_files = {kSourceFlags, kCommonFlags}});
  } else if (mode == "sink") {
    tern::tools::ConfigureProgramUsage(
        {.program = "tern-bench",
         .summary = "tern-bench sink: a fast receiving SMTP sink that counts, records "
                    "Message-IDs, injects delays and failures.\nusage: tern-bench sink "
                    "--listen=HOST:PORT [flags]",
         .flag_files = {kSinkFlags, kCommonFlags}});
  } else {
    // No mode: only --help and --version mean something (abseil prints and exits).
    tern::tools::ConfigureProgramUsage({.program = "tern-bench",
                                        .summary = kUsage,
                                        .flag_files = {kSourceFlags, kSinkFlags, kCommonFlags}});
    absl::ParseCommandLine(argc, argv);
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  std::vector<char*> args;
  args.push_back(argv[0]);
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  return mode == "source" ? tern::tools::tern_bench::RunSource()
                          : tern::tools::tern_bench::RunSink();
}
