// DkimSigner::Sign on a 4 KiB message with an RSA-2048 key, beside its peer: one bare
// RSA-2048 signature of a SHA-256 digest (EVP_PKEY_sign on a context made once, as
// `openssl speed rsa2048` does), with the shared key and with a copy per thread. One thread
// and two, sharing the signer as the shards do.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "core/check.h"
#include "delivery/dkim_signer.h"

namespace tern::delivery {
namespace {

EVP_PKEY* Key() {
  static EVP_PKEY* key = EVP_RSA_gen(2048);
  CHECK(key != nullptr);
  return key;
}

const DkimSigner& Signer() {
  static const DkimSigner* signer = [] {
    const std::string path = "/tmp/tern_dkim_sign_bench." + std::to_string(getpid()) + ".pem";
    FILE* file = fopen(path.c_str(), "w");
    CHECK(file != nullptr);
    CHECK_EQ(PEM_write_PrivateKey(file, Key(), nullptr, nullptr, 0, nullptr, nullptr), 1);
    fclose(file);
    auto created = DkimSigner::Create({"sender.test:s1:" + path});
    unlink(path.c_str());
    CHECK(created.ok());
    return created->release();
  }();
  return *signer;
}

std::string Message() {
  std::string message =
      "From: a@sender.test\r\nTo: b@example.net\r\nSubject: bench\r\n"
      "Date: Mon, 7 Dec 2026 15:00:00 +0000\r\nMessage-ID: <1@sender.test>\r\n\r\n";
  while (message.size() < 4096) message += "Lorem ipsum dolor sit amet, consectetur elit\r\n";
  return message;
}

void BM_DkimSign(benchmark::State& state) {
  const DkimSigner& signer = Signer();
  const std::string message = Message();
  for (auto _ : state) benchmark::DoNotOptimize(signer.Sign(message, absl::Now()));
}
BENCHMARK(BM_DkimSign)->Threads(1)->Threads(2)->UseRealTime();

// Bare RSA-2048 signatures of a SHA-256 digest with `key`, a context made once.
void SignDigests(benchmark::State& state, EVP_PKEY* key) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  CHECK(ctx != nullptr);
  CHECK_EQ(EVP_PKEY_sign_init(ctx), 1);
  CHECK_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
  CHECK_EQ(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
  unsigned char digest[32] = {1};
  unsigned char signature[512];
  for (auto _ : state) {
    size_t size = sizeof(signature);
    CHECK_EQ(EVP_PKEY_sign(ctx, signature, &size, digest, sizeof(digest)), 1);
  }
  EVP_PKEY_CTX_free(ctx);
}

void BM_RsaSignOnly(benchmark::State& state) { SignDigests(state, Key()); }
BENCHMARK(BM_RsaSignOnly)->Threads(1)->Threads(2)->UseRealTime();

void BM_RsaSignOwnKey(benchmark::State& state) {
  EVP_PKEY* key = EVP_PKEY_dup(Key());
  SignDigests(state, key);
  EVP_PKEY_free(key);
}
BENCHMARK(BM_RsaSignOwnKey)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace tern::delivery
