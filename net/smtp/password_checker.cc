// Implementation of net/smtp/password_checker.h.
#include "net/smtp/password_checker.h"

#include "absl/time/clock.h"

namespace tern::net::smtp {

PasswordChecker::PasswordChecker(std::shared_ptr<const AuthUsers> users,
                                 uint32_t attempts_per_minute)
    : users_(std::move(users)), attempts_per_minute_(attempts_per_minute) {
  worker_ = std::thread([this] { Work(); });
}

PasswordChecker::~PasswordChecker() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    wake_.SignalAll();
  }
  worker_.join();
}

AuthBackend::Result PasswordChecker::Submit(absl::string_view client_address, std::string user,
                                            std::string password,
                                            std::shared_ptr<core::Mailbox> mailbox,
                                            absl::AnyInvocable<void(bool)> answer) {
  absl::MutexLock lock(&mutex_);
  if (attempts_per_minute_ > 0) {
    const int64_t minute = absl::ToUnixSeconds(absl::Now()) / 60;
    if (windows_.size() >= kAddressesMax && !windows_.contains(client_address)) {
      windows_.clear();  // bounded memory; a fresh minute for everyone
    }
    Window& window = windows_[client_address];
    if (window.minute != minute) window = Window{minute, 0};
    if (window.attempts >= attempts_per_minute_) return AuthBackend::Result::kThrottled;
    ++window.attempts;
  }
  if (queue_.size() >= kQueueMax) return AuthBackend::Result::kUnavailable;
  queue_.push_back(
      Request{std::move(user), std::move(password), std::move(mailbox), std::move(answer)});
  wake_.Signal();
  return AuthBackend::Result::kAccepted;
}

void PasswordChecker::Work() {
  while (true) {
    Request request;
    {
      absl::MutexLock lock(&mutex_);
      while (!stopping_ && queue_.empty()) wake_.Wait(&mutex_);
      if (stopping_) return;
      request = std::move(queue_.front());
      queue_.pop_front();
    }
    const bool accepted = users_->Verify(request.user, request.password);
    request.mailbox->Post(
        [answer = std::move(request.answer), accepted]() mutable { answer(accepted); });
  }
}

void LoopAuthBackend::Check(absl::string_view client_address, std::string user,
                            std::string password, absl::AnyInvocable<void(Result)> done) {
  // `done` is shared by the two ways it can be called: from the checker's answer, or at
  // once (throttled, overloaded) from the loop.
  auto shared = std::make_shared<absl::AnyInvocable<void(Result)>>(std::move(done));
  const Result queued = checker_->Submit(
      client_address, std::move(user), std::move(password), loop_->mailbox(),
      [shared](bool accepted) { (*shared)(accepted ? Result::kAccepted : Result::kRejected); });
  if (queued != Result::kAccepted) {
    loop_->RunSoon([shared, queued] { (*shared)(queued); });
  }
}

}  // namespace tern::net::smtp
