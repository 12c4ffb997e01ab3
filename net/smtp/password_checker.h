// PasswordChecker: verifies AUTH passwords off the shards' loops. One worker thread per
// checker takes requests from a bounded queue (kQueueMax; beyond, the answer is
// kUnavailable at once) and posts each answer back to the asking loop's Mailbox. Attempts
// are also limited per client address (attempts_per_minute, all shards together; beyond:
// kThrottled without any hashing), so a password-guessing client costs little.
//
//   PasswordChecker checker(users, /*attempts_per_minute=*/30);       // once, in ternd
//   LoopAuthBackend backend(&checker, loop);                          // per shard
//   session config: .auth = &backend
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/loop.h"
#include "net/smtp/auth_backend.h"
#include "net/smtp/auth_users.h"

namespace tern::net::smtp {

class PasswordChecker {
 public:
  static constexpr size_t kQueueMax = 128;
  static constexpr size_t kAddressesMax = 100'000;  // rate-limit entries kept at most

  PasswordChecker(std::shared_ptr<const AuthUsers> users, uint32_t attempts_per_minute);
  // Stops the worker; queued requests are dropped (their loops are stopping too).
  ~PasswordChecker();
  PasswordChecker(const PasswordChecker&) = delete;
  PasswordChecker& operator=(const PasswordChecker&) = delete;

  // Thread-safe. kAccepted means "queued": `answer(accepted)` is posted to `mailbox` later.
  // kThrottled / kUnavailable: nothing is queued.
  AuthBackend::Result Submit(absl::string_view client_address, std::string user,
                             std::string password, std::shared_ptr<core::Mailbox> mailbox,
                             absl::AnyInvocable<void(bool accepted)> answer);
  bool OwnsSender(absl::string_view user, absl::string_view sender) const {
    return users_->OwnsSender(user, sender);
  }
  absl::string_view PoolOf(absl::string_view user) const { return users_->PoolOf(user); }

 private:
  struct Request {
    std::string user;
    std::string password;
    std::shared_ptr<core::Mailbox> mailbox;
    absl::AnyInvocable<void(bool)> answer;
  };
  struct Window {
    int64_t minute = 0;
    uint32_t attempts = 0;
  };
  void Work();

  const std::shared_ptr<const AuthUsers> users_;
  const uint32_t attempts_per_minute_;
  absl::Mutex mutex_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<Request> queue_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mutex_);
  std::thread worker_;
};

// The AuthBackend of one shard: its loop's mailbox for the answers.
class LoopAuthBackend : public AuthBackend {
 public:
  LoopAuthBackend(PasswordChecker* checker, core::Loop* loop) : checker_(checker), loop_(loop) {}
  void Check(absl::string_view client_address, std::string user, std::string password,
             absl::AnyInvocable<void(Result)> done) override;
  bool OwnsSender(absl::string_view user, absl::string_view sender) const override {
    return checker_->OwnsSender(user, sender);
  }
  absl::string_view PoolOf(absl::string_view user) const override { return checker_->PoolOf(user); }

 private:
  PasswordChecker* checker_;
  core::Loop* loop_;
};

}  // namespace tern::net::smtp
