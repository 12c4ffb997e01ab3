// One injection request made ready to queue: parsed and validated once (Prepare), then one
// message built per recipient on demand (BuildMessageFor), so a caller queuing 10,000
// recipients holds one message at a time, not 10,000.
//
//   ASSIGN_OR_RETURN(InjectionPlan plan, InjectionPlan::Prepare(body, options));
//   for (size_t i = 0; i < plan.recipient_count(); ++i) {
//     ASSIGN_OR_RETURN(std::string message, plan.BuildMessageFor(i));
//     Spool(plan.envelope_sender(), plan.recipient(i).mailbox.email, plan.pool(), message);
//   }
//   Answer(plan.failed_recipients());  // invalid addresses, left out (inject_request.h)
//
// Prepare's errors are the request's (400 with the Status message). BuildMessageFor fails
// only for a message past InjectLimits::message_bytes_max or a header value past
// header_value_expanded_bytes_max once substituted (ResourceExhausted), or raw content that
// breaks a line rule once substituted (InvalidArgument): that recipient is refused.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "inject/inject_limits.h"
#include "inject/inject_request.h"

namespace tern::inject {

struct PlanOptions {
  InjectLimits limits;
  // The right-hand side of Message-IDs: the relay's host name, a dot-atom.
  std::string host_name = "localhost";
};

class InjectionPlan {
 public:
  static absl::StatusOr<InjectionPlan> Prepare(absl::string_view body, const PlanOptions& options);

  size_t recipient_count() const { return request_.recipients.size(); }
  const InjectRecipient& recipient(size_t index) const;
  const std::string& envelope_sender() const { return request_.envelope_sender; }
  const std::string& pool() const { return request_.pool; }
  const StringPairs& metadata() const { return request_.metadata; }
  const std::vector<FailedRecipient>& failed_recipients() const {
    return request_.failed_recipients;
  }
  const InjectRequest& request() const { return request_; }

  // The message for recipient(index) (index < recipient_count()), dated `now`, with a new
  // Message-ID each call.
  absl::StatusOr<std::string> BuildMessageFor(size_t index, absl::Time now = absl::Now()) const;

 private:
  InjectionPlan(InjectRequest request, PlanOptions options)
      : request_(std::move(request)), options_(std::move(options)) {}

  absl::StatusOr<std::string> BuildStructured(const InjectRecipient& recipient,
                                              absl::Time now) const;

  InjectRequest request_;
  PlanOptions options_;
};

}  // namespace tern::inject
