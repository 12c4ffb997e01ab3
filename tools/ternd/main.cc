// ternd: the Tern relay daemon's entry point (the daemon itself: tools/ternd/daemon.h).
#include "tools/ternd/daemon.h"

int main(int argc, char** argv) { return tern::tools::ternd::TerndMain(argc, argv, {}); }
