// The entry points of tern-bench's modes; each reads its own flags (already parsed by
// main.cc) and returns the process exit status.
#pragma once

namespace tern::tools::tern_bench {

int RunSource();  // source_main.cc
int RunSink();    // sink_main.cc

}  // namespace tern::tools::tern_bench
