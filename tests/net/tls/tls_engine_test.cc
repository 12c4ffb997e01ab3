// TlsEngine driven in memory: a server and a client engine exchange ciphertext directly,
// so handshakes, records, alerts and resumption are tested without sockets.
#include "net/tls/tls_engine.h"

#include <openssl/ssl.h>

#include <string>

#include "gtest/gtest.h"
#include "net/tls/tls_context.h"
#include "tests/net/tls/test_certificate.h"

namespace tern::net::tls {
namespace {

using testing::TestCertificate;

// Moves ciphertext between the two engines and advances their handshakes until neither
// produces anything more (bounded: a handshake takes a few flights).
void Exchange(TlsEngine* a, TlsEngine* b) {
  std::string bytes;
  for (int round = 0; round < 16; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
      from->Handshake();
      from->TakeCiphertext(&bytes);
      if (!bytes.empty()) {
        to->PutCiphertext(bytes);
        moved = true;
      }
    }
    if (!moved) return;
  }
}

// Reads everything `engine` has decrypted.
std::string ReadAll(TlsEngine* engine, TlsEngine::ReadResult* last = nullptr) {
  std::string out;
  char buffer[4096];
  for (int i = 0; i < 1000; ++i) {
    size_t got = 0;
    const TlsEngine::ReadResult result = engine->Read(buffer, sizeof(buffer), &got);
    if (result != TlsEngine::ReadResult::kData) {
      if (last != nullptr) *last = result;
      break;
    }
    out.append(buffer, got);
  }
  return out;
}

class TlsEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TlsContext::CreateServer({cert_.cert_file(), cert_.key_file()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_context_ = *server;
    auto client = TlsContext::CreateClient({});
    ASSERT_TRUE(client.ok()) << client.status();
    client_context_ = *client;
  }
  std::unique_ptr<TlsEngine> NewServer() { return *TlsEngine::Create(server_context_); }
  std::unique_ptr<TlsEngine> NewClient(SSL_SESSION* resume = nullptr) {
    return *TlsEngine::Create(client_context_, "mx.test", resume);
  }

  TestCertificate cert_ = TestCertificate::Make("mx.test");
  std::shared_ptr<const TlsContext> server_context_;
  std::shared_ptr<const TlsContext> client_context_;
};

TEST_F(TlsEngineTest, HandshakeThenDataBothWays) {
  auto server = NewServer();
  auto client = NewClient();
  Exchange(client.get(), server.get());
  ASSERT_TRUE(server->handshake_done()) << server->error();
  ASSERT_TRUE(client->handshake_done()) << client->error();
  EXPECT_EQ(server->Describe().rfind("TLSv1.3 ", 0), 0u) << server->Describe();

  ASSERT_TRUE(client->Write("EHLO client.test\r\n").ok());
  Exchange(client.get(), server.get());
  EXPECT_EQ(ReadAll(server.get()), "EHLO client.test\r\n");
  const std::string big(100000, 'x');  // several records
  ASSERT_TRUE(server->Write(big).ok());
  Exchange(client.get(), server.get());
  EXPECT_EQ(ReadAll(client.get()), big);
}

TEST_F(TlsEngineTest, CiphertextSplitAtEveryByteGivesTheSamePlaintext) {
  auto server = NewServer();
  auto client = NewClient();
  Exchange(client.get(), server.get());
  ASSERT_TRUE(client->Write("MAIL FROM:<a@b.test>\r\n").ok());
  std::string wire;
  client->TakeCiphertext(&wire);
  std::string plain;
  for (char c : wire) {
    server->PutCiphertext(absl::string_view(&c, 1));
    plain += ReadAll(server.get());
  }
  EXPECT_EQ(plain, "MAIL FROM:<a@b.test>\r\n");
}

TEST_F(TlsEngineTest, CloseNotifyIsReadAsClosed) {
  auto server = NewServer();
  auto client = NewClient();
  Exchange(client.get(), server.get());
  client->Shutdown();
  Exchange(client.get(), server.get());
  TlsEngine::ReadResult last = TlsEngine::ReadResult::kData;
  ReadAll(server.get(), &last);
  EXPECT_EQ(last, TlsEngine::ReadResult::kClosed);
}

TEST_F(TlsEngineTest, PlaintextInsteadOfAHandshakeFails) {
  auto server = NewServer();
  server->PutCiphertext("EHLO attacker.test\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(server->Handshake(), TlsEngine::Progress::kFailed);
  EXPECT_FALSE(server->error().empty());
}

TEST_F(TlsEngineTest, GarbageRecordAfterTheHandshakeFails) {
  auto server = NewServer();
  auto client = NewClient();
  Exchange(client.get(), server.get());
  // An application-data record header with bytes that do not authenticate.
  server->PutCiphertext(std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'A'));
  TlsEngine::ReadResult last = TlsEngine::ReadResult::kData;
  ReadAll(server.get(), &last);
  EXPECT_EQ(last, TlsEngine::ReadResult::kFailed);
  EXPECT_FALSE(server->error().empty());
}

// A client that only speaks TLS 1.0/1.1 (allowed at security level 0) gets no session.
TEST_F(TlsEngineTest, OldProtocolVersionsAreRefused) {
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    auto client_context = TlsContext::CreateClient({});
    ASSERT_TRUE(client_context.ok());
    SSL_CTX* ctx = (*client_context)->get();
    SSL_CTX_set_security_level(ctx, 0);
    ASSERT_EQ(SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0"), 1);
    ASSERT_EQ(SSL_CTX_set_min_proto_version(ctx, version), 1);
    ASSERT_EQ(SSL_CTX_set_max_proto_version(ctx, version), 1);
    auto server = NewServer();
    auto client = *TlsEngine::Create(*client_context, "mx.test");
    Exchange(client.get(), server.get());
    EXPECT_FALSE(server->handshake_done()) << version;
    EXPECT_EQ(server->Handshake(), TlsEngine::Progress::kFailed) << version;
  }
}

// TLS 1.2 without forward secrecy or without AEAD: no shared cipher.
TEST_F(TlsEngineTest, WeakTls12CiphersAreRefused) {
  for (const char* weak : {"AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA",
                           "ECDHE-ECDSA-AES128-SHA", "DES-CBC3-SHA:@SECLEVEL=0"}) {
    auto client_context = TlsContext::CreateClient({});
    ASSERT_TRUE(client_context.ok());
    SSL_CTX* ctx = (*client_context)->get();
    ASSERT_EQ(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
    if (SSL_CTX_set_cipher_list(ctx, weak) != 1) continue;  // not built into this OpenSSL
    auto server = NewServer();
    auto client = *TlsEngine::Create(*client_context, "mx.test");
    Exchange(client.get(), server.get());
    EXPECT_FALSE(server->handshake_done()) << weak;
  }
}

TEST_F(TlsEngineTest, Tls12UsesAnAeadSuiteWithEcdhe) {
  auto client_context = TlsContext::CreateClient({});
  ASSERT_TRUE(client_context.ok());
  ASSERT_EQ(SSL_CTX_set_max_proto_version((*client_context)->get(), TLS1_2_VERSION), 1);
  auto server = NewServer();
  auto client = *TlsEngine::Create(*client_context, "mx.test");
  Exchange(client.get(), server.get());
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(server->Describe(), "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_F(TlsEngineTest, ClientRenegotiationIsRefused) {
  auto client_context = TlsContext::CreateClient({});
  ASSERT_TRUE(client_context.ok());
  SSL_CTX* ctx = (*client_context)->get();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_RENEGOTIATION);
  auto server = NewServer();
  SSL* raw_client = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(raw_client, in, out);
  SSL_set_connect_state(raw_client);
  // Handshake by hand, then ask for a renegotiation.
  auto pump = [&] {
    char buffer[16384];
    for (int i = 0; i < 16; ++i) {
      SSL_do_handshake(raw_client);
      int n = BIO_read(out, buffer, sizeof(buffer));
      if (n > 0) server->PutCiphertext(absl::string_view(buffer, static_cast<size_t>(n)));
      server->Handshake();
      char ignored[1024];
      size_t got = 0;
      if (server->handshake_done()) server->Read(ignored, sizeof(ignored), &got);
      std::string back;
      server->TakeCiphertext(&back);
      if (!back.empty()) BIO_write(in, back.data(), static_cast<int>(back.size()));
      if (n <= 0 && back.empty()) return;
    }
  };
  pump();
  ASSERT_TRUE(server->handshake_done()) << server->error();
  ASSERT_EQ(SSL_renegotiate(raw_client), 1);
  pump();
  // The server never renegotiates: the client's renegotiation stays pending or fails.
  EXPECT_TRUE(SSL_renegotiate_pending(raw_client) == 1 || SSL_get_shutdown(raw_client) != 0 ||
              SSL_in_init(raw_client));
  SSL_free(raw_client);
}

TEST_F(TlsEngineTest, SecondConnectionResumesTheSession) {
  auto server = NewServer();
  auto client = NewClient();
  Exchange(client.get(), server.get());
  ASSERT_TRUE(client->handshake_done());
  ReadAll(client.get());  // processes the TLS 1.3 NewSessionTicket
  SSL_SESSION* session = client->TakeSessionForResumption();
  ASSERT_NE(session, nullptr);
  EXPECT_FALSE(client->session_reused());

  auto server2 = NewServer();
  auto client2 = NewClient(session);
  SSL_SESSION_free(session);
  Exchange(client2.get(), server2.get());
  ASSERT_TRUE(client2->handshake_done());
  EXPECT_TRUE(client2->session_reused());
  EXPECT_TRUE(server2->session_reused());
}

TEST(TlsContextTest, MismatchedKeyIsRefusedAtLoad) {
  TestCertificate one = TestCertificate::Make("one.test");
  TestCertificate two = TestCertificate::Make("two.test");
  auto context = TlsContext::CreateServer({one.cert_file(), two.key_file()});
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.status().message().find("mismatch"), std::string::npos) << context.status();
}

TEST(TlsContextTest, MissingFilesAreNamed) {
  auto context = TlsContext::CreateServer({"/nonexistent/cert.pem", "/nonexistent/key.pem"});
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.status().message().find("/nonexistent/cert.pem"), std::string::npos)
      << context.status();
}

TEST(TlsContextTest, RsaKeysWorkToo) {
  TestCertificate cert = TestCertificate::Make("rsa.test", TestCertificate::KeyType::kRsa2048);
  auto context = TlsContext::CreateServer({cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(context.ok()) << context.status();
}

TEST(TlsContextTest, SecureHeapHoldsThePrivateKey) {
  ASSERT_TRUE(InitSecureHeap().ok());
  const size_t before = CRYPTO_secure_used();
  TestCertificate cert = TestCertificate::Make("heap.test", TestCertificate::KeyType::kRsa2048);
  auto context = TlsContext::CreateServer({cert.cert_file(), cert.key_file()});
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_GT(CRYPTO_secure_used(), before);
}

}  // namespace
}  // namespace tern::net::tls
