// Implementation of net/smtp/auth_users.h.
#include "net/smtp/auth_users.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/smtp/password_hash.h"
#include "net/smtp/sasl.h"

namespace tern::net::smtp {

absl::StatusOr<std::shared_ptr<const AuthUsers>> AuthUsers::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<std::shared_ptr<const AuthUsers>> AuthUsers::Parse(absl::string_view text,
                                                                  absl::string_view name) {
  auto users = std::shared_ptr<AuthUsers>(new AuthUsers());
  const std::vector<std::string> problems = users->ParseLines(text, name, 1);
  if (!problems.empty()) return absl::InvalidArgumentError(problems.front());
  absl::StatusOr<std::string> dummy = HashPassword("tern-dummy-password");
  if (!dummy.ok()) return dummy.status();
  users->dummy_hash_ = *std::move(dummy);
  return std::shared_ptr<const AuthUsers>(std::move(users));
}

std::vector<std::string> AuthUsers::FindProblems(absl::string_view text, absl::string_view name) {
  AuthUsers scratch;
  return scratch.ParseLines(text, name, std::numeric_limits<size_t>::max());
}

std::vector<std::string> AuthUsers::ParseLines(absl::string_view text, absl::string_view name,
                                               size_t problems_max) {
  std::vector<std::string> problems;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (problems.size() >= problems_max) break;
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    auto bad = [&](absl::string_view why) {
      problems.push_back(absl::StrCat(name, ":", line_number, ": ", why));
    };
    if (fields.size() < 2) {
      bad("want user:hash[:senders]");
      continue;
    }
    const std::string user(fields[0]);
    if (!IsValidAuthIdentity(user)) {
      bad("bad user name");
      continue;
    }
    if (users_.contains(user)) {
      bad(absl::StrCat("user '", user, "' listed twice"));
      continue;
    }
    Entry entry;
    entry.hash = std::string(fields[1]);
    // A hash that cannot be checked is an error now, not a failed login later.
    if (absl::Status format = CheckPasswordHash(entry.hash); !format.ok()) {
      bad(format.message());
      continue;
    }
    bool bad_pool = false;
    if (fields.size() == 3) {
      for (absl::string_view item : absl::StrSplit(fields[2], ',', absl::SkipWhitespace())) {
        item = absl::StripAsciiWhitespace(item);
        if (absl::ConsumePrefix(&item, "pool=")) {
          if (!entry.pool.empty() || item.empty() ||
              item.find_first_of(" \t@") != absl::string_view::npos) {
            bad_pool = true;
            break;
          }
          entry.pool = std::string(item);
          continue;
        }
        entry.senders.push_back(absl::AsciiStrToLower(item));
      }
    }
    if (bad_pool) {
      bad("want at most one pool=NAME (a --egress_pool name) among the senders");
      continue;
    }
    users_.emplace(user, std::move(entry));
  }
  return problems;
}

bool AuthUsers::Verify(absl::string_view user, absl::string_view password) const {
  auto it = users_.find(user);
  const bool known = it != users_.end();
  absl::StatusOr<bool> ok = VerifyPassword(password, known ? it->second.hash : dummy_hash_);
  return known && ok.ok() && *ok;
}

absl::string_view AuthUsers::PoolOf(absl::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? absl::string_view() : absl::string_view(it->second.pool);
}

std::vector<std::string> AuthUsers::FindPoolNames(absl::string_view text, absl::string_view name) {
  AuthUsers scratch;
  scratch.ParseLines(text, name, std::numeric_limits<size_t>::max());
  return scratch.PoolNames();
}

std::vector<std::string> AuthUsers::PoolNames() const {
  std::vector<std::string> names;
  for (const auto& [user, entry] : users_) {
    if (!entry.pool.empty() && std::find(names.begin(), names.end(), entry.pool) == names.end()) {
      names.push_back(entry.pool);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool AuthUsers::OwnsSender(absl::string_view user, absl::string_view sender) const {
  auto it = users_.find(user);
  if (it == users_.end()) return false;
  const std::string address = absl::AsciiStrToLower(sender);
  if (address == absl::AsciiStrToLower(user)) return true;
  const size_t at = address.rfind('@');
  for (const std::string& owned : it->second.senders) {
    if (owned == address) return true;
    if (!owned.empty() && owned[0] == '@' && at != std::string::npos &&
        absl::string_view(address).substr(at) == owned) {
      return true;
    }
  }
  return false;
}

}  // namespace tern::net::smtp
