// DkimSigner: DKIM signatures (RFC 6376) for outgoing mail, with the keys of --dkim_key
// (DOMAIN:SELECTOR:KEYFILE, repeatable): rsa-sha256 (RSA keys of 1024 bits or more, RFC
// 8301) and ed25519-sha256 (RFC 8463), relaxed/relaxed, for messages whose From domain is a
// key's domain or one of its subdomains. Signed: From (and once more, so that no From can be
// added), Sender, Reply-To, Subject, Date, Message-ID, To, Cc, MIME and List-* fields,
// Resent-*, In-Reply-To, References; every instance present.
//
//   ASSIGN_OR_RETURN(auto signer, DkimSigner::Create({"example.com:s1:/etc/tern/s1.pem"}));
//   std::string header = signer->Sign(stored_message, absl::Now());  // "" when no key fits
//   // "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; ...\r\n"
//
// The body hash is computed over the stored message in one pass, without copying it
// (delivery/dkim_canonicalization.h). Keys are immutable after Create() and shared by the
// shards; signing is thread-safe.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tern::delivery {

class DkimSigner {
 public:
  // Each spec "DOMAIN:SELECTOR:KEYFILE" (PEM private key). Errors name the spec.
  static absl::StatusOr<std::unique_ptr<const DkimSigner>> Create(
      const std::vector<std::string>& specs);
  ~DkimSigner();
  DkimSigner(const DkimSigner&) = delete;
  DkimSigner& operator=(const DkimSigner&) = delete;

  std::string Sign(absl::string_view stored_message, absl::Time now) const;

 private:
  struct Key {
    std::string domain;  // lower case
    std::string selector;
    EVP_PKEY* pkey = nullptr;
    bool ed25519 = false;
  };
  DkimSigner() = default;
  const Key* KeyFor(absl::string_view from_domain) const;
  std::vector<Key> keys_;
};

// The domain of the first address in a From field's value, lower case; "" when none.
std::string FromDomain(absl::string_view from_value);

}  // namespace tern::delivery
