// Implementation of inject/inject_request.h: the document is parsed with bounds
// (bounded_json.h), then walked once, field by field, each problem recorded with its path.
#include "inject/inject_request.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "inject/bounded_json.h"
#include "inject/echoed_text.h"
#include "net/smtp/address.h"

namespace tern::inject {
namespace {

using Json = nlohmann::json;

constexpr size_t kPoolBytesMax = 64;
constexpr size_t kFileNameBytesMax = 255;
constexpr size_t kContentTypeBytesMax = 127;

// What a string may hold besides its length bound.
enum class Text {
  kBody,    // anything but NUL
  kHeader,  // no NUL, CR or LF: it goes into a header field
};

bool IsToken(absl::string_view s) {  // RFC 2045 §5.1 token
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7F || absl::StrContains("()<>@,;:\\\"/[]?=", static_cast<char>(c))) {
      return false;
    }
  }
  return true;
}

bool IsPoolName(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return s.size() <= kPoolBytesMax;
}

class RequestReader {
 public:
  explicit RequestReader(const InjectLimits& limits) : limits_(limits) {}

  absl::StatusOr<InjectRequest> Read(const Json& root) {
    InjectRequest request;
    ReadRequest(root, &request);
    if (errors_.empty() && request.recipients.empty() && !request.failed_recipients.empty()) {
      Error("recipients", "no valid recipient");
    }
    if (!errors_.empty()) {
      std::string message = absl::StrJoin(errors_, "; ");
      if (dropped_ > 0) absl::StrAppend(&message, "; and ", dropped_, " more");
      return exhausted_ ? absl::ResourceExhaustedError(message)
                        : absl::InvalidArgumentError(message);
    }
    return request;
  }

 private:
  void Error(const std::string& path, absl::string_view what) {
    if (errors_.size() >= limits_.errors_reported_max) {
      ++dropped_;
      return;
    }
    errors_.push_back(absl::StrCat(path.empty() ? "request" : path, ": ", what));
  }
  void Exhausted(const std::string& path, absl::string_view what) {
    exhausted_ = true;
    Error(path, what);
  }

  // Calls `member(key, value, path)` for each member of `object`; false if not an object.
  template <typename F>
  bool Members(const Json& object, const std::string& path, F member) {
    if (!object.is_object()) {
      Error(path, "not an object");
      return false;
    }
    for (const auto& [key, value] : object.items()) {
      // Keys are client text of any length: the path quotes a bounded prefix.
      const std::string child =
          path.empty() ? EchoedText(key) : absl::StrCat(path, ".", EchoedText(key));
      if (absl::StrContains(key, '\0')) {
        Error(path, "NUL byte in a key");
        continue;
      }
      member(key, value, child);
    }
    return true;
  }

  std::optional<std::string> String(const Json& value, const std::string& path, size_t bytes_max,
                                    Text kind) {
    if (!value.is_string()) {
      Error(path, "not a string");
      return std::nullopt;
    }
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() > bytes_max) {
      Exhausted(path, absl::StrCat("longer than ", bytes_max, " bytes"));
      return std::nullopt;
    }
    if (s.find('\0') != std::string::npos) {
      Error(path, "NUL byte");
      return std::nullopt;
    }
    if (kind == Text::kHeader && s.find_first_of("\r\n") != std::string::npos) {
      Error(path, "CR or LF in a header value");
      return std::nullopt;
    }
    return s;
  }

  void Missing(const std::string& path) { Error(path, "missing"); }

  std::optional<std::string> Address(const Json& value, const std::string& path) {
    std::optional<std::string> s = String(value, path, limits_.address_bytes_max, Text::kHeader);
    if (!s) return std::nullopt;
    std::string problem = MailboxProblem(*s, limits_.address_bytes_max);
    if (!problem.empty()) {
      Error(path, problem);
      return std::nullopt;
    }
    return s;
  }

  // "a@b" or {"email": "a@b", "name": "..."}.
  std::optional<Mailbox> ReadMailbox(const Json& value, const std::string& path) {
    Mailbox mailbox;
    if (value.is_string()) {
      std::optional<std::string> email = Address(value, path);
      if (!email) return std::nullopt;
      mailbox.email = std::move(*email);
      return mailbox;
    }
    bool ok = true, has_email = false;
    if (!Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
          if (key == "email") {
            has_email = true;
            std::optional<std::string> email = Address(v, p);
            ok &= email.has_value();
            if (email) mailbox.email = std::move(*email);
          } else if (key == "name") {
            std::optional<std::string> name =
                String(v, p, limits_.short_text_bytes_max, Text::kHeader);
            ok &= name.has_value();
            if (name) mailbox.name = std::move(*name);
          } else {
            Error(p, "unknown field");
            ok = false;
          }
        })) {
      return std::nullopt;
    }
    if (!has_email) {
      Missing(path + ".email");
      return std::nullopt;
    }
    return ok ? std::optional<Mailbox>(std::move(mailbox)) : std::nullopt;
  }

  void ReadSubstitutions(const Json& value, const std::string& path, StringPairs* out) {
    if (value.is_object() && value.size() > limits_.substitutions_max) {
      Exhausted(path, absl::StrCat("more than ", limits_.substitutions_max, " substitutions"));
      return;
    }
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (key.empty() || key.size() > limits_.substitution_key_bytes_max) {
        Error(p,
              absl::StrCat("a key must have 1 to ", limits_.substitution_key_bytes_max, " bytes"));
        return;
      }
      std::optional<std::string> s =
          String(v, p, limits_.substitution_value_bytes_max, Text::kBody);
      if (s) out->emplace_back(key, std::move(*s));
    });
  }

  void ReadRecipient(const Json& value, const std::string& path, size_t index,
                     InjectRequest* request) {
    InjectRecipient recipient;
    recipient.index = index;
    bool has_email = false;
    std::string email_problem, email_text;
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (key == "email") {
        has_email = true;
        // An invalid address fails this recipient only; a wrong type fails the request.
        std::optional<std::string> s = String(v, p, SIZE_MAX, Text::kBody);
        if (!s) return;
        email_text = std::move(*s);
        email_problem = MailboxProblem(email_text, limits_.address_bytes_max);
        if (email_problem.empty()) recipient.mailbox.email = email_text;
      } else if (key == "name") {
        std::optional<std::string> s = String(v, p, limits_.short_text_bytes_max, Text::kHeader);
        if (s) recipient.mailbox.name = std::move(*s);
      } else if (key == "substitutions") {
        ReadSubstitutions(v, p, &recipient.substitutions);
      } else {
        Error(p, "unknown field");
      }
    });
    if (!value.is_object()) return;
    if (!has_email) return Missing(path + ".email");
    if (!email_problem.empty()) {
      // Only a bounded prefix of a hostile address is echoed back.
      request->failed_recipients.push_back(
          {index, EchoedText(email_text, limits_.address_bytes_max), email_problem});
      return;
    }
    if (!recipient.mailbox.email.empty()) request->recipients.push_back(std::move(recipient));
  }

  void ReadRecipients(const Json& value, const std::string& path, InjectRequest* request) {
    if (!value.is_array()) return Error(path, "not an array");
    if (value.empty()) return Error(path, "empty");
    if (value.size() > limits_.recipients_max) {
      return Exhausted(path, absl::StrCat("more than ", limits_.recipients_max, " recipients"));
    }
    for (size_t i = 0; i < value.size(); ++i) {
      ReadRecipient(value[i], absl::StrCat(path, "[", i, "]"), i, request);
    }
  }

  void ReadAttachment(const Json& value, const std::string& path, InjectAttachment* out) {
    std::optional<std::string> data;
    bool base64 = false, has_type = false;
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (key == "content_type") {
        has_type = true;
        std::optional<std::string> s = String(v, p, kContentTypeBytesMax, Text::kHeader);
        if (!s) return;
        const size_t slash = s->find('/');
        if (slash == std::string::npos || !IsToken(s->substr(0, slash)) ||
            !IsToken(s->substr(slash + 1))) {
          return Error(p, "not a type/subtype");
        }
        if (absl::StartsWithIgnoreCase(*s, "multipart/") ||
            absl::StartsWithIgnoreCase(*s, "message/")) {
          return Error(p, "composite types are not attachments here");
        }
        out->content_type = absl::AsciiStrToLower(*s);
      } else if (key == "file_name") {
        std::optional<std::string> s = String(v, p, kFileNameBytesMax, Text::kHeader);
        if (!s) return;
        if (s->find_first_of("/\\") != std::string::npos) return Error(p, "a path, not a name");
        for (unsigned char c : *s) {
          if (c < 0x20 || c == 0x7F) return Error(p, "control character");
        }
        out->file_name = std::move(*s);
      } else if (key == "data") {
        data = String(v, p, limits_.attachment_bytes_max * 4 / 3 + 4096, Text::kBody);
      } else if (key == "base64") {
        if (!v.is_boolean()) return Error(p, "not a boolean");
        base64 = v.get<bool>();
      } else {
        Error(p, "unknown field");
      }
    });
    if (!value.is_object()) return;
    if (!has_type) Missing(path + ".content_type");
    if (!value.contains("data")) return Missing(path + ".data");
    if (!data) return;
    if (base64) {
      if (!absl::Base64Unescape(*data, &out->data)) return Error(path + ".data", "invalid base64");
    } else {
      out->data = std::move(*data);
    }
    if (out->data.size() > limits_.attachment_bytes_max) {
      Exhausted(path + ".data",
                absl::StrCat("longer than ", limits_.attachment_bytes_max, " bytes decoded"));
    }
  }

  void ReadStructured(const Json& value, const std::string& path, StructuredContent* out) {
    bool has_from = false, has_subject = false;
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (key == "from") {
        has_from = true;
        if (std::optional<Mailbox> m = ReadMailbox(v, p)) out->from = std::move(*m);
      } else if (key == "reply_to") {
        out->reply_to = ReadMailbox(v, p);
      } else if (key == "subject") {
        has_subject = true;
        if (auto s = String(v, p, limits_.short_text_bytes_max, Text::kHeader)) {
          out->subject = std::move(*s);
        }
      } else if (key == "text_body") {
        out->text_body = String(v, p, limits_.body_text_bytes_max, Text::kBody);
      } else if (key == "html_body") {
        out->html_body = String(v, p, limits_.body_text_bytes_max, Text::kBody);
      } else if (key == "headers") {
        ReadHeaders(v, p, &out->headers);
      } else if (key == "attachments") {
        ReadAttachments(v, p, &out->attachments);
      } else {
        Error(p, "unknown field");
      }
    });
    if (!value.is_object()) return;
    if (!has_from) Missing(path + ".from");
    if (!has_subject) Missing(path + ".subject");
    if (!value.contains("text_body") && !value.contains("html_body")) {
      Error(path, "needs text_body or html_body");
    }
  }

  void ReadHeaders(const Json& value, const std::string& path, StringPairs* out) {
    if (value.is_object() && value.size() > limits_.headers_max) {
      return Exhausted(path, absl::StrCat("more than ", limits_.headers_max, " headers"));
    }
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (!IsHeaderFieldName(key)) return Error(p, "not a header field name");
      if (IsReservedHeaderName(key)) return Error(p, "set by the builder, not by headers");
      if (auto s = String(v, p, limits_.short_text_bytes_max, Text::kHeader)) {
        out->emplace_back(key, std::move(*s));
      }
    });
  }

  void ReadAttachments(const Json& value, const std::string& path,
                       std::vector<InjectAttachment>* out) {
    if (!value.is_array()) return Error(path, "not an array");
    if (value.size() > limits_.attachments_max) {
      return Exhausted(path, absl::StrCat("more than ", limits_.attachments_max, " attachments"));
    }
    size_t total = 0;
    for (size_t i = 0; i < value.size(); ++i) {
      out->emplace_back();
      ReadAttachment(value[i], absl::StrCat(path, "[", i, "]"), &out->back());
      total += out->back().data.size();
    }
    if (total > limits_.attachments_total_bytes_max) {
      Exhausted(path,
                absl::StrCat("more than ", limits_.attachments_total_bytes_max, " bytes in all"));
    }
  }

  void ReadMetadata(const Json& value, const std::string& path, StringPairs* out) {
    if (value.is_object() && value.size() > limits_.metadata_max) {
      return Exhausted(path, absl::StrCat("more than ", limits_.metadata_max, " members"));
    }
    size_t bytes = 0;
    Members(value, path, [&](const std::string& key, const Json& v, const std::string& p) {
      if (auto s = String(v, p, limits_.metadata_bytes_max, Text::kHeader)) {
        bytes += key.size() + s->size();
        out->emplace_back(key, std::move(*s));
      }
    });
    if (bytes > limits_.metadata_bytes_max) {
      Exhausted(path, absl::StrCat("more than ", limits_.metadata_bytes_max, " bytes"));
    }
  }

  void ReadRequest(const Json& root, InjectRequest* request) {
    bool has_sender = false, has_recipients = false;
    Members(root, "", [&](const std::string& key, const Json& v, const std::string& p) {
      if (key == "envelope_sender") {
        has_sender = true;
        if (auto s = Address(v, p)) request->envelope_sender = std::move(*s);
      } else if (key == "recipients") {
        has_recipients = true;
        ReadRecipients(v, p, request);
      } else if (key == "content") {
        if (v.is_string()) {
          request->raw_content = String(v, p, limits_.body_text_bytes_max, Text::kBody);
        } else if (v.is_object()) {
          request->content.emplace();
          ReadStructured(v, p, &*request->content);
        } else {
          Error(p, "neither a string nor an object");
        }
      } else if (key == "substitutions") {
        ReadSubstitutions(v, p, &request->substitutions);
      } else if (key == "pool") {
        auto s = String(v, p, kPoolBytesMax, Text::kHeader);
        if (s && !IsPoolName(*s)) return Error(p, "not a pool name ([A-Za-z0-9._-])");
        if (s) request->pool = std::move(*s);
      } else if (key == "metadata") {
        ReadMetadata(v, p, &request->metadata);
      } else {
        Error(p, "unknown field");
      }
    });
    if (!root.is_object()) return;
    if (!has_recipients) Missing("recipients");
    if (!root.contains("content")) Missing("content");
    if (!has_sender) {
      if (request->content && !request->content->from.email.empty()) {
        request->envelope_sender = request->content->from.email;
      } else if (!request->content) {
        Missing("envelope_sender");
      }
    }
  }

  const InjectLimits& limits_;
  std::vector<std::string> errors_;
  size_t dropped_ = 0;
  bool exhausted_ = false;
};

}  // namespace

std::string MailboxProblem(absl::string_view address, size_t bytes_max) {
  if (address.empty()) return "empty address";
  if (address.size() > bytes_max) return absl::StrCat("address longer than ", bytes_max, " bytes");
  for (unsigned char c : address) {
    if (c < 0x21 || c >= 0x7F) return "address with a space, control or non-ASCII character";
  }
  const std::string path = absl::StrCat("<", address, ">");
  std::string scratch;
  const net::smtp::ParsedPath parsed =
      net::smtp::ParsePath(path, net::smtp::PathKind::kForwardPath, /*smtputf8=*/false, &scratch);
  if (!parsed.ok() || !parsed.parameters.empty()) return "invalid address";
  if (parsed.domain.empty()) return "address without a domain";
  // A quoted local part or a source route would need re-quoting in headers: refused.
  if (parsed.address != address) return "quoted or routed addresses are not accepted";
  return "";
}

bool IsHeaderFieldName(absl::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (unsigned char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

bool IsReservedHeaderName(absl::string_view name) {
  for (absl::string_view reserved : {"From", "To", "Subject", "Reply-To", "Date", "Message-ID",
                                     "MIME-Version", "Bcc", "Return-Path"}) {
    if (absl::EqualsIgnoreCase(name, reserved)) return true;
  }
  return absl::StartsWithIgnoreCase(name, "Content-");
}

absl::StatusOr<InjectRequest> ParseInjectRequest(absl::string_view body,
                                                 const InjectLimits& limits) {
  if (body.size() > limits.body_bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request: body longer than ", limits.body_bytes_max, " bytes"));
  }
  absl::StatusOr<nlohmann::json> document = ParseBoundedJson(
      body, {.depth_max = limits.json_depth_max, .values_max = limits.json_values_max});
  if (!document.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request: ", document.status().message()));
  }
  return RequestReader(limits).Read(*document);
}

}  // namespace tern::inject
