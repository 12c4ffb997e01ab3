// Implementation of inject/injection_plan.h: substitution per recipient, then the raw or
// the MIME path.
#include "inject/injection_plan.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/status_macros.h"
#include "inject/message_stamp.h"
#include "inject/mime_builder.h"
#include "inject/raw_message.h"
#include "inject/substitution.h"

namespace tern::inject {

absl::StatusOr<InjectionPlan> InjectionPlan::Prepare(absl::string_view body,
                                                     const PlanOptions& options) {
  if (MailboxProblem(absl::StrCat("x@", options.host_name), 255) != "") {
    return absl::InvalidArgumentError(
        absl::StrCat("host_name \"", options.host_name, "\" is not a domain"));
  }
  ASSIGN_OR_RETURN(InjectRequest request, ParseInjectRequest(body, options.limits));
  return InjectionPlan(std::move(request), options);
}

const InjectRecipient& InjectionPlan::recipient(size_t index) const {
  CHECK_LT(index, request_.recipients.size());
  return request_.recipients[index];
}

absl::StatusOr<std::string> InjectionPlan::BuildMessageFor(size_t index, absl::Time now) const {
  const InjectRecipient& to = recipient(index);
  if (request_.raw_content) {
    const SubstitutionValues values(request_.substitutions, to.substitutions);
    return BuildRawMessage(*request_.raw_content, values, options_.limits.message_bytes_max,
                           NewMessageId(options_.host_name), DateField(now));
  }
  CHECK(request_.content.has_value());
  return BuildStructured(to, now);
}

absl::StatusOr<std::string> InjectionPlan::BuildStructured(const InjectRecipient& to,
                                                           absl::Time now) const {
  const StructuredContent& content = *request_.content;
  const InjectLimits& limits = options_.limits;
  const SubstitutionValues values(request_.substitutions, to.substitutions);
  MessageSpec spec;
  spec.from = content.from;
  spec.to = to.mailbox;
  spec.reply_to = content.reply_to;
  RETURN_IF_ERROR(ExpandTemplate(content.subject, values, Placement::kHeader,
                                 limits.header_value_expanded_bytes_max, &spec.subject));
  for (const auto& [name, value_template] : content.headers) {
    std::string value;
    RETURN_IF_ERROR(ExpandTemplate(value_template, values, Placement::kHeader,
                                   limits.header_value_expanded_bytes_max, &value));
    spec.headers.emplace_back(name, std::move(value));
  }
  // The bodies share the message's budget (attachments are counted at their encoded size,
  // 4/3 of the decoded bytes).
  size_t attachment_bytes = 0;
  for (const InjectAttachment& a : content.attachments) attachment_bytes += a.data.size() / 3 * 4;
  if (attachment_bytes >= limits.message_bytes_max) {
    return absl::ResourceExhaustedError("attachments alone exceed the message size limit");
  }
  size_t budget = limits.message_bytes_max - attachment_bytes;
  if (content.text_body) {
    spec.text_body.emplace();
    RETURN_IF_ERROR(
        ExpandTemplate(*content.text_body, values, Placement::kBody, budget, &*spec.text_body));
    budget -= spec.text_body->size();
  }
  if (content.html_body) {
    spec.html_body.emplace();
    RETURN_IF_ERROR(
        ExpandTemplate(*content.html_body, values, Placement::kBody, budget, &*spec.html_body));
  }
  spec.message_id = NewMessageId(options_.host_name);
  spec.date = DateField(now);
  spec.attachments = &content.attachments;
  ASSIGN_OR_RETURN(std::string message, BuildMimeMessage(spec));
  // The budget above bounds the text; encoding (quoted-printable up to 3x) can grow it.
  if (message.size() > limits.message_bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("message longer than ", limits.message_bytes_max, " bytes once encoded"));
  }
  return message;
}

}  // namespace tern::inject
