// WebhookReceiverProcess: tests/events/webhook_receiver.py run as a child process (a real
// HTTP server on 127.0.0.1), stopped with SIGTERM by Stop() or the destructor.
//
//   WebhookReceiverProcess receiver(record_path, {"--fail_percent", "30"});
//   ASSERT_TRUE(receiver.Start());  // receiver.port()
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tern::events {

class WebhookReceiverProcess {
 public:
  WebhookReceiverProcess(std::string record, std::vector<std::string> extra)
      : record_(std::move(record)), extra_(std::move(extra)) {}
  ~WebhookReceiverProcess() { Stop(); }

  // Starts the server (on `port`, 0: any) and waits for its "PORT n" line.
  bool Start(int port = 0) {
    int out[2];
    if (::pipe(out) != 0) return false;
    std::vector<std::string> args = {"/usr/bin/python3", TERN_WEBHOOK_RECEIVER, "--record", record_,
                                     "--port",           std::to_string(port)};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* stream = ::fdopen(out[0], "r");
    char line[64] = {};
    bool ok = std::fgets(line, sizeof(line), stream) != nullptr &&
              std::sscanf(line, "PORT %d", &port_) == 1;
    std::fclose(stream);
    return ok && port_ > 0;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  std::string record_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tern::events
