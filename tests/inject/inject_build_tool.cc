// inject_build REQUEST_FILE OUT_DIR: prepares an injection request read from a file and
// writes each recipient's built message to OUT_DIR/<index>.eml, for check_mime.py to parse
// with Python's email package. Exits 1 with the Status on stderr when the request or a
// message is refused.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "inject/injection_plan.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: inject_build REQUEST_FILE OUT_DIR\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  tern::inject::PlanOptions options;
  options.host_name = "relay.example.org";
  absl::StatusOr<tern::inject::InjectionPlan> plan =
      tern::inject::InjectionPlan::Prepare(body.str(), options);
  if (!plan.ok()) {
    std::cerr << plan.status() << "\n";
    return 1;
  }
  for (size_t i = 0; i < plan->recipient_count(); ++i) {
    absl::StatusOr<std::string> message = plan->BuildMessageFor(i);
    if (!message.ok()) {
      std::cerr << message.status() << "\n";
      return 1;
    }
    std::ofstream out(std::string(argv[2]) + "/" + std::to_string(i) + ".eml", std::ios::binary);
    out << *message;
  }
  return 0;
}
