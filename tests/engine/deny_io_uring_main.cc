// deny-io-uring: runs a program under a seccomp filter that makes io_uring_setup fail with
// EPERM, as Docker's default seccomp profile does, to test ternd's fallback to epoll
// (--io_engine=auto) on a host whose kernel has io_uring.
//
//   deny-io-uring build/bin/ternd --listen=127.0.0.1:0 ...
//
// PR_SET_NO_NEW_PRIVS first, so an unprivileged process may install the filter; the filter
// survives execv and applies to every thread the program starts.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: deny-io-uring PROGRAM [ARGS...]\n");
    return 2;
  }
  sock_filter filter[] = {
      // Another architecture's system call numbers mean something else: deny nothing there.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{};
  program.len = static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0]));
  program.filter = filter;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    std::fprintf(stderr, "deny-io-uring: PR_SET_NO_NEW_PRIVS: %s\n", std::strerror(errno));
    return 2;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
    std::fprintf(stderr, "deny-io-uring: PR_SET_SECCOMP: %s\n", std::strerror(errno));
    return 2;
  }
  execv(argv[1], argv + 1);
  std::fprintf(stderr, "deny-io-uring: exec %s: %s\n", argv[1], std::strerror(errno));
  return 2;
}
