// Tests of tools/ternd/check_config.h: certificate dates, overlapping addresses, DNS server
// entries, /proc/locks parsing, the flag names in errors, and the file checks on real files
// and real certificates (made in-process).
#include "tools/ternd/check_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/spool_lock.h"
#include "tests/net/tls/test_certificate.h"
#include "tools/ternd/flags.h"

namespace tern::tools::ternd {

// gtest prints a finding as ternd would.
void PrintTo(const Finding& finding, std::ostream* out) { *out << FormatFinding(finding); }

namespace {

using net::tls::CertificateValidity;
using net::tls::testing::TestCertificate;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P3(IsFinding, severity, what, why_substring, "") {
  return arg.severity == severity && arg.what == what &&
         arg.why.find(why_substring) != std::string::npos;
}

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2030, 6, 15, 12, 0, 0), absl::UTCTimeZone());

CertificateValidity Validity(absl::Time not_before, absl::Time not_after) {
  return {.subject = "CN = mx.test", .not_before = not_before, .not_after = not_after};
}

// A fresh directory under the test's temporary folder, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "/tern-check-XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
    return Path(name);
  }

 private:
  std::string path_;
};

// Restores every flag a test sets.
class CheckConfigTest : public ::testing::Test {
 private:
  absl::FlagSaver saver_;
};

TEST(CheckCertificateDates, AnExpiredCertificateIsAProblemNamingItsDate) {
  ConfigReport report;
  CheckCertificateDates("--tls_cert=c.pem",
                        {Validity(kNow - absl::Hours(48), kNow - absl::Hours(1))}, kNow, &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--tls_cert=c.pem",
                                    "certificate (CN = mx.test) expired on 2030-06-15 11:00:00 UTC "
                                    "(notAfter)")));
  EXPECT_EQ(report.problem_count(), 1);
}

TEST(CheckCertificateDates, ExpiryWithinFourteenDaysIsAWarningOnly) {
  ConfigReport report;
  CheckCertificateDates("--tls_cert=c.pem",
                        {Validity(kNow - absl::Hours(48), kNow + absl::Hours(3 * 24 + 5))}, kNow,
                        &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kWarning, "--tls_cert=c.pem",
                                    "expires in 3 days, on 2030-06-18 17:00:00 UTC (notAfter)")));
  EXPECT_EQ(report.problem_count(), 0);
}

TEST(CheckCertificateDates, ALongValidChainSaysNothingAndEachChainMemberCounts) {
  ConfigReport report;
  const CertificateValidity good = Validity(kNow - absl::Hours(1), kNow + absl::Hours(90 * 24));
  CheckCertificateDates("--tls_cert=c.pem", {good, good}, kNow, &report);
  EXPECT_THAT(report.findings(), IsEmpty());
  CheckCertificateDates("--tls_cert=c.pem",
                        {good, Validity(kNow + absl::Hours(1), kNow + absl::Hours(90 * 24))}, kNow,
                        &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--tls_cert=c.pem",
                                    "chain certificate 2 (CN = mx.test) is not valid before "
                                    "2030-06-15 13:00:00 UTC")));
}

net::SocketAddress Address(const std::string& text) {
  auto address = net::ParseSocketAddress(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? *address : net::SocketAddress{};
}

TEST(CheckAddressOverlaps, TheSameAddressTwiceIsAProblemPortZeroIsNot) {
  ConfigReport report;
  CheckAddressOverlaps({{"--listen=127.0.0.1:2525", Address("127.0.0.1:2525")},
                        {"--listen=127.0.0.1:0", Address("127.0.0.1:0")},
                        {"--submission_listen=127.0.0.1:0", Address("127.0.0.1:0")},
                        {"--admin_listen=localhost:2525", Address("localhost:2525")},
                        {"--smtps_listen=127.0.0.1:465", Address("127.0.0.1:465")},
                        {"--listen=[::1]:2525", Address("[::1]:2525")}},
                       &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--admin_listen=localhost:2525",
                                    "same address as --listen=127.0.0.1:2525")));
}

TEST(CheckAddressOverlaps, AWildcardAndASpecificAddressOnOnePortIsAWarning) {
  ConfigReport report;
  CheckAddressOverlaps({{"--listen=0.0.0.0:25", Address("0.0.0.0:25")},
                        {"--submission_listen=127.0.0.1:25", Address("127.0.0.1:25")}},
                       &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kWarning, "--submission_listen=127.0.0.1:25",
                                    "overlaps --listen=0.0.0.0:25")));
  EXPECT_EQ(report.problem_count(), 0);
}

TEST(ParseDnsServer, AcceptsTheFormsCAresTakes) {
  for (const char* good :
       {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:53", "[2001:db8::1]:5353"}) {
    EXPECT_TRUE(ParseDnsServer(good).ok()) << good;
  }
  for (const char* bad : {"dns.example.com", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
                          "[127.0.0.1]:53", "[::1", "[::1]53", "[::1]:", "1.2.3.4:x", ""}) {
    EXPECT_FALSE(ParseDnsServer(bad).ok()) << bad;
  }
}

TEST(FlockHolderPid, FindsTheHolderOfThatFileOnly) {
  const std::string locks =
      "1: POSIX  ADVISORY  WRITE 11 fe:00:42 0 EOF\n"
      "2: FLOCK  ADVISORY  WRITE 22 fe:01:42 0 EOF\n"
      "3: FLOCK  ADVISORY  WRITE 33 fe:00:42 0 EOF\n"
      "3: -> FLOCK  ADVISORY  WRITE 44 fe:00:42 0 EOF\n"
      "4: FLOCK  ADVISORY  WRITE 55 103:02:7 0 EOF\n";
  EXPECT_EQ(FlockHolderPid(locks, 0xfe, 0x00, 42), 33);
  EXPECT_EQ(FlockHolderPid(locks, 0x103, 0x02, 7), 55);
  EXPECT_EQ(FlockHolderPid(locks, 0xfe, 0x00, 43), std::nullopt);
  EXPECT_EQ(FlockHolderPid("", 0xfe, 0x00, 42), std::nullopt);
}

TEST(FlagsNamedIn, ReadsTheLeadingFlagNames) {
  EXPECT_THAT(FlagsNamedIn("--route/--smarthost: bad entry"), ElementsAre("route", "smarthost"));
  EXPECT_THAT(FlagsNamedIn("--listen=127.0.0.1:25"), ElementsAre("listen"));
  EXPECT_THAT(FlagsNamedIn("--auth_users_file"), ElementsAre("auth_users_file"));
  EXPECT_THAT(FlagsNamedIn("configuration"), IsEmpty());
}

TEST(ReportDaemonConfigError, IsDroppedWhenACheckAlreadyNamedItsFlag) {
  ConfigReport report;
  report.Problem("--tls_key=k.pem", "private key k.pem does not match c.pem");
  report.Warning("--route=x", "a warning does not count");
  ReportDaemonConfigError(absl::InvalidArgumentError("--tls_key: private key ..."), &report);
  EXPECT_EQ(report.problem_count(), 1);
  ReportDaemonConfigError(absl::InvalidArgumentError("--route/--smarthost: bad 'x'"), &report);
  ReportDaemonConfigError(absl::OkStatus(), &report);
  EXPECT_EQ(report.problem_count(), 2);
  EXPECT_EQ(FormatFinding(report.findings().back()), "ternd: config: --route/--smarthost: bad 'x'");
}

TEST(FormatFinding, OneLinePerSeverity) {
  EXPECT_EQ(FormatFinding({Severity::kProblem, "--user=x", "unknown user"}),
            "ternd: config: --user=x: unknown user");
  EXPECT_EQ(FormatFinding({Severity::kWarning, "--shards=9", "w"}),
            "ternd: warning: --shards=9: w");
  EXPECT_EQ(FormatFinding({Severity::kInfo, "--spool_dir=s", "i"}),
            "ternd: info: --spool_dir=s: i");
}

TEST_F(CheckConfigTest, TlsFilesMissingMismatchedAndSoonExpiring) {
  const TestCertificate a = TestCertificate::Make("a.test");  // valid for 7 days
  const TestCertificate b = TestCertificate::Make("b.test");
  ConfigReport report;
  absl::SetFlag(&FLAGS_tls_cert, a.cert_file());
  absl::SetFlag(&FLAGS_tls_key, a.key_file());
  CheckTlsFiles(absl::Now(), &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kWarning, "--tls_cert=" + a.cert_file(),
                                    "certificate (CN = a.test) expires in 6 days")));

  report = ConfigReport();
  absl::SetFlag(&FLAGS_tls_key, b.key_file());
  CheckTlsFiles(absl::Now(), &report);
  EXPECT_THAT(
      report.findings(),
      ElementsAre(IsFinding(Severity::kProblem, "--tls_key=" + b.key_file(), "key values mismatch"),
                  IsFinding(Severity::kWarning, "--tls_cert=" + a.cert_file(), "")));

  report = ConfigReport();
  absl::SetFlag(&FLAGS_tls_cert, "");
  CheckTlsFiles(absl::Now(), &report);
  EXPECT_THAT(report.findings(), ElementsAre(IsFinding(Severity::kProblem, "--tls_cert",
                                                       "not set, but --tls_key is")));

  report = ConfigReport();
  absl::SetFlag(&FLAGS_tls_cert, a.dir() + "/missing.pem");
  absl::SetFlag(&FLAGS_tls_key, a.dir() + "/missing.key");
  CheckTlsFiles(absl::Now(), &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--tls_cert=" + a.dir() + "/missing.pem",
                                    "does not exist"),
                          IsFinding(Severity::kProblem, "--tls_key=" + a.dir() + "/missing.key",
                                    "does not exist")));
}

TEST_F(CheckConfigTest, SmtpsAndAuthNeedTls) {
  absl::SetFlag(&FLAGS_tls_cert, "");
  absl::SetFlag(&FLAGS_smtps_listen, std::vector<std::string>{"127.0.0.1:465"});
  absl::SetFlag(&FLAGS_auth_users_file, "/etc/tern/users");
  ConfigReport report;
  CheckTlsNeeded(&report);
  EXPECT_THAT(
      report.findings(),
      ElementsAre(IsFinding(Severity::kProblem, "--smtps_listen=127.0.0.1:465", "needs --tls_cert"),
                  IsFinding(Severity::kProblem, "--auth_users_file=/etc/tern/users", "TLS only")));
}

TEST_F(CheckConfigTest, UsersFileLinesAreNamed) {
  ScratchDir dir;
  const std::string users = dir.Write("users", "# none yet\nalice\n\nbob:nothash\n");
  absl::SetFlag(&FLAGS_auth_users_file, users);
  ConfigReport report;
  CheckAuthUsersFile(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--auth_users_file", users + ":2: want"),
                          IsFinding(Severity::kProblem, "--auth_users_file", users + ":4: ")));
  report = ConfigReport();
  absl::SetFlag(&FLAGS_auth_users_file, dir.Path("absent"));
  CheckAuthUsersFile(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--auth_users_file=" + dir.Path("absent"),
                                    "cannot read")));
}

TEST_F(CheckConfigTest, AdminBeyondLoopbackNeedsASecretTokenFile) {
  ScratchDir dir;
  absl::SetFlag(&FLAGS_admin_listen, "0.0.0.0:0");
  absl::SetFlag(&FLAGS_admin_token_file, "");
  ConfigReport report;
  CheckAdminAccess(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--admin_listen=0.0.0.0:0",
                                    "needs --admin_token_file")));

  const std::string token = dir.Write("admin.token", "s3cret\n");
  ASSERT_EQ(::chmod(token.c_str(), 0600), 0);
  absl::SetFlag(&FLAGS_admin_token_file, token);
  report = ConfigReport();
  CheckAdminAccess(&report);
  EXPECT_THAT(report.findings(), IsEmpty());

  ASSERT_EQ(::chmod(token.c_str(), 0644), 0);
  report = ConfigReport();
  CheckAdminAccess(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--admin_token_file=" + token,
                                    "accessible by others")));

  // Loopback needs no token; an empty token file is refused.
  absl::SetFlag(&FLAGS_admin_listen, "[::1]:9025");
  const std::string empty = dir.Write("empty.token", "\n");
  ASSERT_EQ(::chmod(empty.c_str(), 0600), 0);
  absl::SetFlag(&FLAGS_admin_token_file, empty);
  report = ConfigReport();
  CheckAdminAccess(&report);
  EXPECT_THAT(report.findings(), ElementsAre(IsFinding(Severity::kProblem,
                                                       "--admin_token_file=" + empty, "no token")));
  absl::SetFlag(&FLAGS_admin_token_file, "");
  report = ConfigReport();
  CheckAdminAccess(&report);
  EXPECT_THAT(report.findings(), IsEmpty());
}

TEST_F(CheckConfigTest, DkimKeysAndRoutesAreCheckedOneByOne) {
  ScratchDir dir;
  const std::string not_a_key = dir.Write("k.pem", "not a key\n");
  absl::SetFlag(&FLAGS_deliver, true);
  absl::SetFlag(&FLAGS_dkim_key, std::vector<std::string>{
                                     absl::StrCat("example.com:s1:", not_a_key), "example.org:s1"});
  absl::SetFlag(&FLAGS_route,
                std::vector<std::string>{"a.test=[127.0.0.1]:25", "b.test", "c.test=[::1]:25"});
  absl::SetFlag(&FLAGS_smarthost, "[relay.test]:x");
  ConfigReport report;
  CheckDkimKeys(&report);
  CheckRoutes(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--dkim_key=example.com:s1:" + not_a_key,
                                    "holds no PEM private key"),
                          IsFinding(Severity::kProblem, "--dkim_key=example.org:s1",
                                    "want DOMAIN:SELECTOR:KEYFILE"),
                          IsFinding(Severity::kProblem, "--route=b.test", ""),
                          IsFinding(Severity::kProblem, "--smarthost=[relay.test]:x", "")));
  // Without delivery, none of them is read.
  absl::SetFlag(&FLAGS_deliver, false);
  report = ConfigReport();
  CheckDkimKeys(&report);
  CheckRoutes(&report);
  EXPECT_THAT(report.findings(), IsEmpty());
}

TEST_F(CheckConfigTest, DnsServersOrAReadableResolvConf) {
  ScratchDir dir;
  absl::SetFlag(&FLAGS_deliver, true);
  absl::SetFlag(&FLAGS_dns_servers, std::vector<std::string>{"127.0.0.1:5353", "dns.test"});
  ConfigReport report;
  CheckDnsServers(dir.Path("absent"), &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--dns_servers=dns.test", "not an IP")));
  absl::SetFlag(&FLAGS_dns_servers, std::vector<std::string>{});
  report = ConfigReport();
  CheckDnsServers(dir.Path("absent"), &report);
  EXPECT_THAT(report.findings(), ElementsAre(IsFinding(Severity::kProblem, "--dns_servers",
                                                       "not set, and cannot read")));
  report = ConfigReport();
  CheckDnsServers(dir.Write("resolv.conf", "search test\n"), &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kWarning, "--dns_servers", "names no nameserver")));
  report = ConfigReport();
  CheckDnsServers(dir.Write("resolv.conf", "search test\nnameserver 127.0.0.1\n"), &report);
  EXPECT_THAT(report.findings(), IsEmpty());
}

TEST_F(CheckConfigTest, UnknownAndRootUsersAreProblems) {
  ConfigReport report;
  absl::SetFlag(&FLAGS_user, "no-such-user-tern");
  CheckUser(&report);
  absl::SetFlag(&FLAGS_user, "root");
  CheckUser(&report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kProblem, "--user=no-such-user-tern", "unknown user"),
                          IsFinding(Severity::kProblem, "--user=root", "is root")));
}

TEST_F(CheckConfigTest, SpoolDirAbsentIsCreatableAndNothingIsCreated) {
  ScratchDir dir;
  absl::SetFlag(&FLAGS_spool_dir, dir.Path("a/b/spool"));
  ConfigReport report;
  CheckSpoolDir("/proc/locks", &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kInfo, "--spool_dir=" + dir.Path("a/b/spool"),
                                    "does not exist yet: ternd will create it in " + dir.path())));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("a")));
}

TEST_F(CheckConfigTest, SpoolDirThatIsAFileOrUnderAFileIsAProblem) {
  ScratchDir dir;
  const std::string file = dir.Write("file", "x");
  for (const std::string& spool : {file, file + "/spool"}) {
    absl::SetFlag(&FLAGS_spool_dir, spool);
    ConfigReport report;
    CheckSpoolDir("/proc/locks", &report);
    EXPECT_THAT(report.findings(),
                ElementsAre(IsFinding(
                    Severity::kProblem, "--spool_dir=" + spool,
                    spool == file ? "is not a directory" : file + " is not a directory")));
  }
}

TEST_F(CheckConfigTest, ASpoolInUseIsInfoNamingThePid) {
  ScratchDir dir;
  absl::SetFlag(&FLAGS_spool_dir, dir.path());
  absl::StatusOr<spool::SpoolLock> lock = spool::SpoolLock::Acquire(dir.path());
  ASSERT_TRUE(lock.ok()) << lock.status();
  ConfigReport report;
  CheckSpoolDir("/proc/locks", &report);
  EXPECT_THAT(report.findings(),
              ElementsAre(IsFinding(Severity::kInfo, "--spool_dir=" + dir.path(),
                                    absl::StrCat("spool in use by pid ", ::getpid(), " "))));
  // The check took no lock of its own: the spool is still held, by us alone.
  EXPECT_FALSE(spool::SpoolLock::Acquire(dir.path()).ok());
  // Released (the lock file stays): nothing to say.
  lock = absl::CancelledError("released");
  report = ConfigReport();
  CheckSpoolDir("/proc/locks", &report);
  EXPECT_THAT(report.findings(), IsEmpty());
}

TEST_F(CheckConfigTest, DeliveryLogDirectoryMustBeCreatable) {
  ScratchDir dir;
  const std::string file = dir.Write("file", "x");
  absl::SetFlag(&FLAGS_delivery_log, file + "/log/delivery.jsonl");
  ConfigReport report;
  CheckDeliveryLog(&report);
  absl::SetFlag(&FLAGS_delivery_log, dir.path());
  CheckDeliveryLog(&report);
  absl::SetFlag(&FLAGS_delivery_log, dir.Path("log/delivery.jsonl"));
  CheckDeliveryLog(&report);
  EXPECT_THAT(
      report.findings(),
      ElementsAre(IsFinding(Severity::kProblem, "--delivery_log=" + file + "/log/delivery.jsonl",
                            file + " is not a directory"),
                  IsFinding(Severity::kProblem, "--delivery_log=" + dir.path(), "is a directory")));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("log")));
}

TEST_F(CheckConfigTest, MoreShardsThanCpusIsAWarning) {
  absl::SetFlag(&FLAGS_shards, 8);
  ConfigReport report;
  CheckShards(8, &report);
  EXPECT_THAT(report.findings(), IsEmpty());
  CheckShards(2, &report);
  EXPECT_THAT(report.findings(), ElementsAre(IsFinding(Severity::kWarning, "--shards=8",
                                                       "more shards than the 2 CPUs")));
  EXPECT_EQ(report.problem_count(), 0);
}

TEST_F(CheckConfigTest, ShapingProblemsAreNamedOneEachWithFileLineAndKey) {
  ScratchDir dir;
  absl::SetFlag(&FLAGS_egress_source, std::vector<std::string>{"ip2=127.0.0.2"});
  const std::string good = dir.Write(
      "good.toml", "[default]\nconnection_limit = 20\n[source.ip2]\nconnection_limit = 5\n");
  absl::SetFlag(&FLAGS_shaping, good);
  ConfigReport report;
  CheckShaping(&report);
  EXPECT_THAT(report.findings(), ::testing::IsEmpty());

  // Parse problems, every one (source names are checked once the file parses).
  const std::string bad = dir.Write("bad.toml", "[default]\nconnection_limit = -1\nbogus = 2\n");
  absl::SetFlag(&FLAGS_shaping, bad);
  report = ConfigReport();
  CheckShaping(&report);
  EXPECT_THAT(report.findings(), ElementsAre(IsFinding(Severity::kProblem, "--shaping=" + bad,
                                                       bad + ":2: default.connection_limit: "),
                                             IsFinding(Severity::kProblem, "--shaping=" + bad,
                                                       bad + ":3: default.bogus: unknown key")));
  const std::string unknown_source = dir.Write(
      "source.toml", "[default]\nconnection_limit = 1\n[source.ip9]\nconnection_limit = 5\n");
  absl::SetFlag(&FLAGS_shaping, unknown_source);
  report = ConfigReport();
  CheckShaping(&report);
  EXPECT_THAT(
      report.findings(),
      ElementsAre(IsFinding(Severity::kProblem, "--shaping=" + unknown_source,
                            unknown_source + ":3: source.ip9: 'ip9' is not an egress source")));

  absl::SetFlag(&FLAGS_shaping, "");
  report = ConfigReport();
  CheckShaping(&report);
  EXPECT_THAT(report.findings(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace tern::tools::ternd
