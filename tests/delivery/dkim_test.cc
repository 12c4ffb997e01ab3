// Tests of DKIM: relaxed canonicalization (RFC 6376 §3.4.5's example, stuffing, splits)
// and the signer's choice of key and header (signatures themselves are verified by dkimpy
// in integration.dkim; here by OpenSSL with the public key, over what RFC 6376 says is
// signed).
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "delivery/dkim_canonicalization.h"
#include "delivery/dkim_signer.h"
#include "gtest/gtest.h"
#include "tests/delivery/relaxed_body_reference.h"

namespace tern::delivery {
namespace {

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), size);
}

std::string BodyHash(absl::string_view stored) {
  RelaxedBodyHash hash;
  hash.Update(stored);
  return hash.Finish();
}

TEST(DkimCanonicalization, Rfc6376Example) {
  // RFC 6376 §3.4.5: "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"
  const std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  std::vector<HeaderField> fields = SplitHeader(message);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(RelaxedHeader(fields[0].name, fields[0].value), "a:X\r\n");
  EXPECT_EQ(RelaxedHeader(fields[1].name, fields[1].value), "b:Y Z\r\n");
  EXPECT_EQ(BodyHash(BodyOf(message)), Sha256(" C\r\nD E\r\n"));
}

TEST(DkimCanonicalization, ALineThatIsNotAFieldEndsTheHeader) {
  // Found by dkim_canonicalization_fuzz: a control character in a field name.
  EXPECT_TRUE(SplitHeader("A  \rB\n::X Y\r\n\r\nbody\r\n").empty());
  const auto fields = SplitHeader("Subject: x\r\nno colon here\r\nTo: y\r\n\r\n");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].name, "Subject");
}

TEST(DkimCanonicalization, BodyEdgeCases) {
  EXPECT_EQ(BodyHash(""), Sha256(""));
  EXPECT_EQ(BodyHash("\r\n\r\n"), Sha256(""));
  EXPECT_EQ(BodyHash("x"), Sha256("x\r\n"));  // a CRLF is added
  EXPECT_EQ(BodyHash("a  \r\n\r\nb\t\r\n"), Sha256("a\r\n\r\nb\r\n"));
  // Stored bodies are dot-stuffed: the stuffing dot is not part of the message.
  EXPECT_EQ(BodyHash("..leading\r\n.\r\n"), Sha256(".leading\r\n"));
  EXPECT_EQ(BodyHash("\xc3\xa9t\xc3\xa9\r\n"), Sha256("\xc3\xa9t\xc3\xa9\r\n"));
}

TEST(DkimCanonicalization, AnySplitGivesTheSameHash) {
  const std::string stored = "  x  y \r\n..dot\r\n\r\n\t\r\nlast \t line \r\n\r\n";
  const std::string whole = BodyHash(stored);
  for (size_t i = 0; i <= stored.size(); ++i) {
    for (size_t j = i; j <= stored.size(); j += 3) {
      RelaxedBodyHash hash;
      hash.Update(absl::string_view(stored).substr(0, i));
      hash.Update(absl::string_view(stored).substr(i, j - i));
      hash.Update(absl::string_view(stored).substr(j));
      EXPECT_EQ(hash.Finish(), whole) << i << " " << j;
    }
  }
}

TEST(DkimCanonicalization, RandomBodiesHashAsTheLineByLineReference) {
  // The hash takes runs of canonical text in bulk; bodies made of the bytes that matter
  // (WSP, CR, LF, the stuffing dot) hold it to the RFC's line-by-line rules.
  std::mt19937 random(17);
  // Lengths past 17 bytes reach the 16-at-a-time scan; letters make its runs long.
  const std::string alphabet = "abcdefghij. \t\r\n\r\n";
  for (int round = 0; round < 20000; ++round) {
    std::string stored(random() % 100, ' ');
    for (char& c : stored) c = alphabet[random() % alphabet.size()];
    EXPECT_EQ(BodyHash(stored), Sha256(ReferenceRelaxedBody(stored))) << absl::CEscape(stored);
  }
  // And a long body of plain lines, past the buffer, whole and in pieces.
  std::string stored;
  for (int line = 0; line < 500; ++line) stored += "some words of text,  and a\ttab \r\n";
  const std::string expected = Sha256(ReferenceRelaxedBody(stored));
  EXPECT_EQ(BodyHash(stored), expected);
  RelaxedBodyHash pieces;
  for (size_t i = 0; i < stored.size(); i += 1000) {
    pieces.Update(absl::string_view(stored).substr(i, 1000));
  }
  EXPECT_EQ(pieces.Finish(), expected);
}

TEST(DkimSigner, FromDomain) {
  EXPECT_EQ(FromDomain(" Alice <alice@Example.COM>"), "example.com");
  EXPECT_EQ(FromDomain(" bob@sub.example.org (Bob)"), "sub.example.org");
  EXPECT_EQ(FromDomain(" \"a@b\" <c@d.test>"), "b");  // the first address-looking part
  EXPECT_EQ(FromDomain(" nobody"), "");
}

class DkimSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tern-dkim-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    rsa_ = EVP_RSA_gen(2048);
    ed_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    ASSERT_NE(rsa_, nullptr);
    ASSERT_NE(ed_, nullptr);
    Write("rsa.pem", rsa_);
    Write("ed.pem", ed_);
  }
  void TearDown() override {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ed_);
    std::filesystem::remove_all(dir_);
  }
  void Write(const char* name, EVP_PKEY* key) {
    FILE* f = std::fopen((dir_ / name).c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  std::string Path(const char* name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  EVP_PKEY* rsa_ = nullptr;
  EVP_PKEY* ed_ = nullptr;
};

// What a verifier hashes for a Tern signature: the h= fields (here From, Subject, From),
// then the DKIM-Signature without its b= value, relaxed, without the final CRLF.
bool Verifies(EVP_PKEY* key, bool ed25519, absl::string_view header,
              absl::string_view signed_fields) {
  const size_t b = header.rfind("b=");
  std::string signature;
  std::string b64;
  for (char c : header.substr(b + 2)) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') b64.push_back(c);
  }
  if (!absl::Base64Unescape(b64, &signature)) return false;
  std::string self = RelaxedHeader("DKIM-Signature", header.substr(15, b + 2 - 15));
  self.resize(self.size() - 2);
  const std::string data = absl::StrCat(signed_fields, self);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok;
  if (ed25519) {
    const std::string digest = Sha256(data);
    ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                          digest.size()) == 1;
  } else {
    ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  return ok;
}

TEST_F(DkimSignerTest, SignsWithTheKeyOfTheFromDomain) {
  auto signer =
      DkimSigner::Create({"rsa.test:s1:" + Path("rsa.pem"), "ed.test:s2:" + Path("ed.pem")});
  ASSERT_TRUE(signer.ok()) << signer.status();
  const std::string message =
      "Received: from x\r\nFrom: A <a@rsa.test>\r\nSubject:  hi  there\r\n\r\nbody\r\n";
  const std::string header = (*signer)->Sign(message, absl::FromUnixSeconds(1700000000));
  ASSERT_TRUE(absl::StartsWith(header,
                               "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                               "d=rsa.test; s=s1;\r\n\tt=1700000000; h=from:subject:from;"))
      << header;
  EXPECT_TRUE(absl::StrContains(header, "bh=" + absl::Base64Escape(Sha256("body\r\n")) + ";"));
  EXPECT_TRUE(absl::EndsWith(header, "\r\n"));
  EXPECT_TRUE(Verifies(rsa_, false, header, "from:A <a@rsa.test>\r\nsubject:hi there\r\n"));
  EXPECT_FALSE(Verifies(rsa_, false, header, "from:A <a@rsa.test>\r\nsubject:hi here\r\n"));

  const std::string ed_message = "From: b@mail.ed.test\r\n\r\n";
  const std::string ed_header = (*signer)->Sign(ed_message, absl::Now());
  ASSERT_TRUE(absl::StrContains(ed_header, "a=ed25519-sha256;")) << ed_header;
  EXPECT_TRUE(absl::StrContains(ed_header, "d=ed.test;"));  // a subdomain's mail
  EXPECT_TRUE(Verifies(ed_, true, ed_header, "from:b@mail.ed.test\r\n"));

  EXPECT_EQ((*signer)->Sign("From: c@other.test\r\n\r\nx\r\n", absl::Now()), "");
  EXPECT_EQ((*signer)->Sign("Subject: no from\r\n\r\nx\r\n", absl::Now()), "");
  EXPECT_EQ((*signer)->Sign("From: c@notrsa.test\r\n\r\nx\r\n", absl::Now()), "");
}

TEST_F(DkimSignerTest, BadSpecsAreRefused) {
  EVP_PKEY* small = EVP_RSA_gen(512);
  ASSERT_NE(small, nullptr);
  Write("small.pem", small);
  EVP_PKEY_free(small);
  for (const std::string& spec :
       {std::string("rsa.test:s1"), "rsa.test::" + Path("rsa.pem"),
        std::string("rsa.test:s1:/missing.pem"), "rsa.test:s1:" + Path("small.pem")}) {
    EXPECT_FALSE(DkimSigner::Create({spec}).ok()) << spec;
  }
}

}  // namespace
}  // namespace tern::delivery
