// Implementation of net/smtp/client_commands.h.
#include "net/smtp/client_commands.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "net/smtp/address.h"
#include "net/smtp/dsn_parameters.h"

namespace tern::net::smtp {
namespace {

// RFC 5322 atext, plus UTF-8 octets (RFC 6531 §3.3; the server checks SMTPUTF8).
bool IsAtext(char c) {
  if (absl::ascii_isalnum(c) || static_cast<unsigned char>(c) >= 0x80) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 5321 §4.1.2 Dot-string: atoms separated by single dots.
bool IsDotString(absl::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  char previous = 0;
  for (char c : local) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool HasControl(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// RFC 3461 §4: xtext is printable ASCII without '=' (and without SP, which ends it).
bool IsXtext(absl::string_view s, size_t bytes_max) {
  if (s.empty() || s.size() > bytes_max) return false;
  for (char c : s) {
    if (c < '!' || c > '~' || c == '=') return false;
  }
  return true;
}

void AppendNotify(uint8_t notify, std::string* out) {
  if (notify == 0) return;
  out->append(" NOTIFY=");
  if (notify & kDsnNotifyNever) {  // RFC 3461 §4.1: NEVER stands alone
    out->append("NEVER");
    return;
  }
  const char* separator = "";
  for (const auto& [bit, name] : {std::pair<uint8_t, const char*>{kDsnNotifySuccess, "SUCCESS"},
                                  {kDsnNotifyFailure, "FAILURE"},
                                  {kDsnNotifyDelay, "DELAY"}}) {
    if (notify & bit) {
      absl::StrAppend(out, separator, name);
      separator = ",";
    }
  }
}

}  // namespace

bool AppendPath(absl::string_view address, std::string* out) {
  if (HasControl(address)) return false;
  const size_t at = address.rfind('@');
  const absl::string_view local = at == absl::string_view::npos ? address : address.substr(0, at);
  const absl::string_view domain =
      at == absl::string_view::npos ? absl::string_view() : address.substr(at);  // with '@'
  std::string path;
  path.reserve(address.size() + 4);
  path.push_back('<');
  if (address.empty() || IsDotString(local)) {
    path.append(local.data(), local.size());
  } else {
    // RFC 5321 §4.1.2 Quoted-string: '"' and '\' are escaped as quoted-pairSMTP.
    path.push_back('"');
    for (char c : local) {
      if (c == '"' || c == '\\') path.push_back('\\');
      path.push_back(c);
    }
    path.push_back('"');
  }
  path.append(domain.data(), domain.size());
  path.push_back('>');
  if (path.size() > kPathBytesMax) return false;
  out->append(path);
  return true;
}

bool AppendMailFrom(absl::string_view sender, const MailParameters& params, std::string* out) {
  const size_t start = out->size();
  out->append("MAIL FROM:");
  if (!AppendPath(sender, out)) {
    out->resize(start);
    return false;
  }
  if (params.size != 0) absl::StrAppend(out, " SIZE=", params.size);
  if (params.eight_bit_mime) out->append(" BODY=8BITMIME");
  if (params.smtputf8) out->append(" SMTPUTF8");
  if (params.dsn_ret == kDsnRetFull) out->append(" RET=FULL");
  if (params.dsn_ret == kDsnRetHeaders) out->append(" RET=HDRS");
  // At most kEnvidBytesMax characters once decoded (the stored form may be longer).
  if (IsXtext(params.envid, 3 * kEnvidBytesMax)) {
    const std::optional<size_t> decoded = XtextDecodedBytes(params.envid);
    if (decoded.has_value() && *decoded <= kEnvidBytesMax) {
      absl::StrAppend(out, " ENVID=", params.envid);
    }
  }
  out->append("\r\n");
  return true;
}

bool AppendRcptTo(absl::string_view recipient, const RcptParameters& params, std::string* out) {
  const size_t start = out->size();
  out->append("RCPT TO:");
  if (recipient.empty() || !AppendPath(recipient, out)) {
    out->resize(start);
    return false;
  }
  AppendNotify(params.notify, out);
  // "addr-type;xtext": the type is an atom, the address xtext (RFC 3461 §4.2).
  if (params.orcpt.find(';') != absl::string_view::npos && IsXtext(params.orcpt, kOrcptBytesMax)) {
    absl::StrAppend(out, " ORCPT=", params.orcpt);
  }
  out->append("\r\n");
  return true;
}

}  // namespace tern::net::smtp
