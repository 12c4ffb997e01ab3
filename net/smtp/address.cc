// Implementation of net/smtp/address.h: a single left-to-right scan of the RFC 5321 path
// grammar (Path, Mailbox, Local-part, Domain, address-literal), no backtracking.
#include "net/smtp/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace tern::net::smtp {
namespace {

// RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3); RFC 6531 §3.3 adds UTF8-non-ascii.
bool IsAtext(unsigned char c, bool smtputf8) {
  if (absl::ascii_isalnum(c)) return true;
  if (c >= 0x80) return smtputf8;
  return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

// Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    unsigned char c1 = s[i + 1];
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      unsigned char ck = s[i + k];
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

// Length of the Dot-string at the start of s, 0 if there is none.
size_t ScanDotString(absl::string_view s, bool smtputf8) {
  size_t pos = 0;
  while (true) {
    size_t atom_start = pos;
    while (pos < s.size() && IsAtext(s[pos], smtputf8)) ++pos;
    if (pos == atom_start) return 0;  // empty atom: leading, trailing or double dot
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      continue;
    }
    return pos;
  }
}

// Length of the Quoted-string at the start of s (s[0] == '"'), 0 if malformed. Appends
// the dequoted content to `out`.
size_t ScanQuotedString(absl::string_view s, bool smtputf8, std::string* out) {
  for (size_t pos = 1; pos < s.size(); ++pos) {
    unsigned char c = s[pos];
    if (c == '"') return pos + 1;
    if (c == '\\') {  // quoted-pairSMTP = %d92 %d32-126
      if (pos + 1 >= s.size()) return 0;
      unsigned char q = s[pos + 1];
      if (q < 32 || q > 126) return 0;
      out->push_back(static_cast<char>(q));
      ++pos;
      continue;
    }
    // qtextSMTP = %d32-33 / %d35-91 / %d93-126
    bool qtext = (c >= 32 && c <= 126) || (c >= 0x80 && smtputf8);
    if (!qtext) return 0;
    out->push_back(static_cast<char>(c));
  }
  return 0;  // unterminated
}

bool IsValidAddressLiteral(absl::string_view inside) {
  char buf[INET6_ADDRSTRLEN + 1];
  unsigned char addr[16];
  if (absl::StartsWithIgnoreCase(inside, "IPv6:")) {
    inside.remove_prefix(5);
    if (inside.size() >= sizeof(buf)) return false;
    std::memcpy(buf, inside.data(), inside.size());
    buf[inside.size()] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
  }
  // General-address-literal (Standardized-tag ":") is not supported: no tag is registered
  // that a relay could use.
  if (inside.size() >= sizeof(buf)) return false;
  std::memcpy(buf, inside.data(), inside.size());
  buf[inside.size()] = '\0';
  return inet_pton(AF_INET, buf, addr) == 1;
}

bool IsLetDig(unsigned char c, bool smtputf8) {
  return absl::ascii_isalnum(c) || (c >= 0x80 && smtputf8);
}

// Length of the Domain or address-literal at the start of s, 0 if there is none.
size_t ScanDomain(absl::string_view s, bool smtputf8) {
  if (s.empty()) return 0;
  if (s[0] == '[') {
    size_t close = s.find(']');
    if (close == absl::string_view::npos) return 0;
    if (!IsValidAddressLiteral(s.substr(1, close - 1))) return 0;
    return close + 1;
  }
  size_t pos = 0;
  while (true) {
    size_t label_start = pos;
    if (pos >= s.size() || !IsLetDig(s[pos], smtputf8)) return 0;
    while (pos < s.size() && (IsLetDig(s[pos], smtputf8) || s[pos] == '-')) ++pos;
    if (s[pos - 1] == '-') return 0;  // Ldh-str ends with Let-dig
    if (pos - label_start > kDomainLabelBytesMax) return 0;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      continue;
    }
    return pos;
  }
}

bool HasHighBit(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

ParsedPath Fail(PathError error) {
  ParsedPath path;
  path.error = error;
  return path;
}

}  // namespace

bool IsValidDomain(absl::string_view domain, bool smtputf8) {
  if (domain.empty() || domain.size() > kDomainBytesMax) return false;
  if (ScanDomain(domain, smtputf8) != domain.size()) return false;
  return !smtputf8 || IsValidUtf8(domain);
}

ParsedPath ParsePath(absl::string_view text, PathKind kind, bool smtputf8, std::string* scratch) {
  // At(i) is '\0' past the end; a real NUL never reaches here (the command reader refuses
  // it) and is invalid at every position anyway.
  auto at = [&text](size_t i) -> char { return i < text.size() ? text[i] : '\0'; };
  size_t i = 0;
  if (at(i) == ' ') ++i;  // "MAIL FROM: <a@b>"
  if (at(i) != '<') return Fail(PathError::kCommandSyntax);
  const size_t open = i++;

  ParsedPath path;
  size_t local_start = 0, local_end = 0, domain_start = 0, domain_end = 0;
  bool quoted = false;
  if (at(i) == '>') {
    if (kind == PathKind::kForwardPath) return Fail(PathError::kAddressSyntax);
    path.null_path = true;
    ++i;
  } else {
    // A-d-l ":" is parsed and ignored (RFC 5321 §4.1.1.3, §C).
    if (at(i) == '@') {
      while (true) {
        if (at(i) != '@') return Fail(PathError::kAddressSyntax);
        size_t len = ScanDomain(text.substr(i + 1), smtputf8);
        if (len == 0) return Fail(PathError::kAddressSyntax);
        i += 1 + len;
        if (at(i) == ',') {
          ++i;
          continue;
        }
        if (at(i) != ':') return Fail(PathError::kAddressSyntax);
        ++i;
        break;
      }
    }
    local_start = i;
    quoted = at(i) == '"';
    if (quoted) scratch->clear();
    size_t len = quoted ? ScanQuotedString(text.substr(i), smtputf8, scratch)
                        : ScanDotString(text.substr(i), smtputf8);
    if (len == 0 || len > kLocalPartBytesMax) return Fail(PathError::kAddressSyntax);
    i += len;
    local_end = i;
    if (at(i) == '>' && kind == PathKind::kForwardPath && !quoted &&
        absl::EqualsIgnoreCase(text.substr(local_start, len), "postmaster")) {
      domain_start = domain_end = i;  // RFC 5321 §4.5.1: <Postmaster> without domain
    } else {
      if (at(i) != '@') return Fail(PathError::kAddressSyntax);
      domain_start = ++i;
      len = ScanDomain(text.substr(i), smtputf8);
      if (len == 0 || len > kDomainBytesMax) return Fail(PathError::kAddressSyntax);
      i += len;
      domain_end = i;
    }
    if (at(i) != '>') return Fail(PathError::kAddressSyntax);
    ++i;
  }
  if (i - open > kPathBytesMax) return Fail(PathError::kAddressSyntax);
  absl::string_view mailbox = text.substr(local_start, domain_end - local_start);
  if (smtputf8 && HasHighBit(mailbox) && !IsValidUtf8(mailbox)) {
    return Fail(PathError::kAddressSyntax);
  }

  // Mail-parameters follow after SP (RFC 5321 §4.1.2).
  if (i < text.size()) {
    if (text[i] != ' ') return Fail(PathError::kCommandSyntax);
    path.parameters = absl::StripAsciiWhitespace(text.substr(i));
  }
  if (path.null_path) return path;
  path.domain = text.substr(domain_start, domain_end - domain_start);
  if (!quoted) {
    path.local_part = text.substr(local_start, local_end - local_start);
    path.address = mailbox;
    return path;
  }
  const size_t local_bytes = scratch->size();
  if (!path.domain.empty()) {
    scratch->push_back('@');
    scratch->append(path.domain.data(), path.domain.size());
  }
  path.address = *scratch;
  path.local_part = path.address.substr(0, local_bytes);
  return path;
}

}  // namespace tern::net::smtp
