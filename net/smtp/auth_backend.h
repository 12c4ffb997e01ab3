// AuthBackend: what an SmtpSession asks when a client says AUTH: is this password right
// (answered later, on the session's thread: the check is slow by design), and may this
// user send as this sender (--sender_login_match). ternd's is PasswordChecker's
// LoopAuthBackend (net/smtp/password_checker.h); tests use their own.
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class AuthBackend {
 public:
  enum class Result : uint8_t {
    kAccepted,
    kRejected,     // unknown user or wrong password (the same answer, the same time)
    kThrottled,    // too many attempts from this client address: 454 4.7.0
    kUnavailable,  // the checker is overloaded: 454 4.7.0
  };
  virtual ~AuthBackend() = default;
  // `done` runs later on the caller's loop thread, never inside this call.
  virtual void Check(absl::string_view client_address, std::string user, std::string password,
                     absl::AnyInvocable<void(Result)> done) = 0;
  virtual bool OwnsSender(absl::string_view user, absl::string_view sender) const = 0;
  // The egress pool the users file gives `user` (empty: none); valid as long as the backend.
  virtual absl::string_view PoolOf(absl::string_view /*user*/) const { return {}; }
};

}  // namespace tern::net::smtp
