// DropPrivileges: the switch from root to --user and its checks (behaviour:
// tools/ternd/privileges.h).
#include "tools/ternd/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace tern::tools::ternd {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status ChownTree(const std::string& path, uid_t uid, gid_t gid) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return absl::OkStatus();
  if (::lchown(path.c_str(), uid, gid) != 0) return Errno(absl::StrCat("chown ", path));
  if (!std::filesystem::is_directory(path, error)) return absl::OkStatus();
  for (auto it = std::filesystem::recursive_directory_iterator(path, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    const std::string entry = it->path().string();
    if (::lchown(entry.c_str(), uid, gid) != 0) return Errno(absl::StrCat("chown ", entry));
  }
  if (error) return absl::InternalError(absl::StrCat("walking ", path, ": ", error.message()));
  return absl::OkStatus();
}

// True when the effective, permitted and inheritable sets are all empty.
bool NoCapabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> DropPrivileges(const std::string& user,
                                           const std::vector<std::string>& owned_paths) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwnam_r(user.c_str(), &entry, buffer, sizeof(buffer), &found) != 0 || found == nullptr) {
    return absl::NotFoundError(absl::StrCat("--user=", user, ": unknown user"));
  }
  const uid_t uid = entry.pw_uid;
  const gid_t gid = entry.pw_gid;
  if (uid == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--user=", user, ": is root; name an unprivileged user"));
  }
  if (::geteuid() != 0) {
    if (::geteuid() == uid) return absl::StrCat("already running as ", user, " (uid ", uid, ")");
    return absl::FailedPreconditionError(
        absl::StrCat("--user=", user, " needs ternd to be started as root"));
  }
  for (const std::string& path : owned_paths) {
    if (path.empty()) continue;
    if (absl::Status s = ChownTree(path, uid, gid); !s.ok()) return s;
  }
  if (::setgroups(0, nullptr) != 0) return Errno("setgroups");
  if (::setresgid(gid, gid, gid) != 0) return Errno("setresgid");
  if (::setresuid(uid, uid, uid) != 0) return Errno("setresuid");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Errno("prctl(PR_SET_NO_NEW_PRIVS)");
  // Checks: the way back must be closed.
  if (::setuid(0) == 0 || ::seteuid(0) == 0) {
    return absl::InternalError("setuid(0) still works after dropping privileges");
  }
  uid_t ruid, euid, suid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ruid != uid || euid != uid || suid != uid) {
    return absl::InternalError("uids are not all the --user's after dropping privileges");
  }
  if (!NoCapabilities()) return absl::InternalError("capabilities left after dropping privileges");
  return absl::StrCat("privileges dropped to ", user, " (uid ", uid, ", gid ", gid,
                      "): setuid(0) refused, no_new_privs set, no capabilities");
}

}  // namespace tern::tools::ternd
