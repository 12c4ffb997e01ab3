// AuthUsers: the accounts of --auth_users_file, one per line:
//
//   # comment
//   alice:$scrypt$ln=14,r=8,p=1$...$...:alice@example.com,@sales.example.com
//   bob@example.com:$scrypt$...
//   news:$scrypt$...:@news.example.com,pool=bulk
//
// user : password hash (net/smtp/password_hash.h, written by `ternctl passwd`) : optionally
// a comma-separated list of the senders the user owns for --sender_login_match (addresses,
// or "@domain" for any address of a domain) and at most one "pool=NAME", the egress pool of
// the user's mail (--egress_pool; used when no pool header or --sender_pool decides). A
// user whose name is an address always owns that address.
//
//   ASSIGN_OR_RETURN(auto users, AuthUsers::Load(path));
//   bool ok = users->Verify("alice", "secret");          // slow: never on a shard's loop
//   bool mine = users->OwnsSender("alice", "alice@example.com");
//
// Unknown users are verified against a dummy hash of the same cost, so that their answer
// takes as long as a wrong password's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tern::net::smtp {

class AuthUsers {
 public:
  // Errors name the file and the line.
  static absl::StatusOr<std::shared_ptr<const AuthUsers>> Load(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const AuthUsers>> Parse(absl::string_view text,
                                                                absl::string_view name);
  // Every bad line of `text` ("NAME:LINE: why"), where Parse stops at the first; empty when
  // Parse accepts the text. For `ternd --check_config`: hashes nothing, keeps no account.
  static std::vector<std::string> FindProblems(absl::string_view text, absl::string_view name);

  bool Verify(absl::string_view user, absl::string_view password) const;
  bool OwnsSender(absl::string_view user, absl::string_view sender) const;
  // The user's "pool=NAME" (empty: none, or no such user); valid as long as this object.
  absl::string_view PoolOf(absl::string_view user) const;
  // Every pool named in the file, once each, sorted.
  std::vector<std::string> PoolNames() const;
  // The same for `text`'s good lines, without hashing anything (for --check_config).
  static std::vector<std::string> FindPoolNames(absl::string_view text, absl::string_view name);
  size_t size() const { return users_.size(); }

 private:
  struct Entry {
    std::string hash;
    std::vector<std::string> senders;  // lower-cased addresses or "@domain"
    std::string pool;                  // empty: none
  };
  // Parses the lines into users_, stopping after `problems_max` bad lines; returns them.
  std::vector<std::string> ParseLines(absl::string_view text, absl::string_view name,
                                      size_t problems_max);

  absl::flat_hash_map<std::string, Entry> users_;
  std::string dummy_hash_;  // for unknown users
};

}  // namespace tern::net::smtp
