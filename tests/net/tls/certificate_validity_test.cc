// Tests of net/tls/certificate_validity.h: the dates and subjects of a PEM chain file.
#include "net/tls/certificate_validity.h"

#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"
#include "tests/net/tls/test_certificate.h"

namespace tern::net::tls {
namespace {

using testing::TestCertificate;

TEST(ReadCertificateChain, ReadsEachCertificateOfTheFileInOrder) {
  const TestCertificate leaf = TestCertificate::Make("mx.test");
  const TestCertificate other =
      TestCertificate::Make("ca.test", TestCertificate::KeyType::kRsa2048);
  const std::string chain_file = leaf.dir() + "/chain.pem";
  {
    std::ifstream a(leaf.cert_file());
    std::ifstream b(other.cert_file());
    std::ofstream out(chain_file);
    out << std::string(std::istreambuf_iterator<char>(a), {})
        << std::string(std::istreambuf_iterator<char>(b), {});
  }
  const absl::Time now = absl::Now();
  auto chain = ReadCertificateChain(chain_file);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0].subject, "CN = mx.test");
  EXPECT_EQ((*chain)[1].subject, "CN = ca.test");
  // TestCertificate: valid from an hour ago for 7 days (whole seconds in the certificate).
  EXPECT_LE(absl::AbsDuration((*chain)[0].not_before - (now - absl::Hours(1))), absl::Minutes(1));
  EXPECT_LE(absl::AbsDuration((*chain)[0].not_after - (now + absl::Hours(7 * 24))),
            absl::Minutes(1));
}

TEST(ReadCertificateChain, AMissingFileOrOneWithoutCertificateIsAnError) {
  const TestCertificate cert = TestCertificate::Make("mx.test");
  auto missing = ReadCertificateChain(cert.dir() + "/missing.pem");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("cannot read"), absl::string_view::npos);
  auto key = ReadCertificateChain(cert.key_file());
  EXPECT_EQ(key.status().message(), cert.key_file() + " holds no PEM certificate");
}

TEST(FormatCertificateTime, IsUtcToTheSecond) {
  EXPECT_EQ(FormatCertificateTime(absl::FromUnixSeconds(1735689600)), "2025-01-01 00:00:00 UTC");
}

}  // namespace
}  // namespace tern::net::tls
