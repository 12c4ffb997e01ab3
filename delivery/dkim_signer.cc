// Implementation of delivery/dkim_signer.h.
#include "delivery/dkim_signer.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/check.h"
#include "delivery/dkim_canonicalization.h"

namespace tern::delivery {
namespace {

// Header fields signed when present (RFC 6376 §5.4.1's recommendations).
constexpr absl::string_view kSignedFields[] = {"from",
                                               "sender",
                                               "reply-to",
                                               "subject",
                                               "date",
                                               "message-id",
                                               "to",
                                               "cc",
                                               "mime-version",
                                               "content-type",
                                               "content-transfer-encoding",
                                               "in-reply-to",
                                               "references",
                                               "resent-date",
                                               "resent-from",
                                               "resent-sender",
                                               "resent-to",
                                               "resent-cc",
                                               "resent-message-id",
                                               "list-id",
                                               "list-help",
                                               "list-unsubscribe",
                                               "list-subscribe",
                                               "list-post",
                                               "list-owner",
                                               "list-archive"};

// Base64 folded into lines the header can carry (FWS is allowed inside b=).
std::string Folded(absl::string_view base64) {
  std::string out;
  for (size_t i = 0; i < base64.size(); i += 72) {
    if (i > 0) out += "\r\n\t ";
    absl::StrAppend(&out, base64.substr(i, 72));
  }
  return out;
}

bool DomainChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

std::string FromDomain(absl::string_view value) {
  // "Name <local@domain>", "local@domain (comment)", "local@domain": the first '@' that is
  // followed by a domain.
  for (size_t at = value.find('@'); at != absl::string_view::npos; at = value.find('@', at + 1)) {
    size_t end = at + 1;
    while (end < value.size() && DomainChar(value[end])) ++end;
    if (end > at + 1) return absl::AsciiStrToLower(value.substr(at + 1, end - at - 1));
  }
  return "";
}

absl::StatusOr<std::unique_ptr<const DkimSigner>> DkimSigner::Create(
    const std::vector<std::string>& specs) {
  std::unique_ptr<DkimSigner> signer(new DkimSigner());
  for (const std::string& flag_value : specs) {
    for (absl::string_view spec : absl::StrSplit(flag_value, ',', absl::SkipWhitespace())) {
      const std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(':', 2));
      auto bad = [&](absl::string_view why) {
        return absl::InvalidArgumentError(absl::StrCat("'", spec, "': ", why));
      };
      if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
        return bad("want DOMAIN:SELECTOR:KEYFILE");
      }
      FILE* file = std::fopen(parts[2].c_str(), "r");
      if (file == nullptr) return bad(absl::StrCat("cannot read ", parts[2]));
      EVP_PKEY* pkey = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
      std::fclose(file);
      if (pkey == nullptr) return bad(absl::StrCat(parts[2], " holds no PEM private key"));
      Key key{.domain = absl::AsciiStrToLower(parts[0]), .selector = parts[1], .pkey = pkey};
      signer->keys_.push_back(key);  // freed by ~DkimSigner from here on
      const int type = EVP_PKEY_get_base_id(pkey);
      if (type == EVP_PKEY_ED25519) {
        signer->keys_.back().ed25519 = true;
      } else if (type != EVP_PKEY_RSA) {
        return bad("only RSA and Ed25519 keys can sign DKIM");
      } else if (EVP_PKEY_get_bits(pkey) < 1024) {
        return bad("an RSA key needs at least 1024 bits (RFC 8301)");
      }
    }
  }
  return std::unique_ptr<const DkimSigner>(std::move(signer));
}

DkimSigner::~DkimSigner() {
  for (Key& key : keys_) EVP_PKEY_free(key.pkey);
}

const DkimSigner::Key* DkimSigner::KeyFor(absl::string_view from_domain) const {
  const Key* best = nullptr;
  for (const Key& key : keys_) {
    const bool matches =
        from_domain == key.domain ||
        (from_domain.size() > key.domain.size() && absl::EndsWith(from_domain, key.domain) &&
         from_domain[from_domain.size() - key.domain.size() - 1] == '.');
    if (matches && (best == nullptr || key.domain.size() > best->domain.size())) best = &key;
  }
  return best;
}

std::string DkimSigner::Sign(absl::string_view stored, absl::Time now) const {
  if (keys_.empty()) return "";
  const std::vector<HeaderField> fields = SplitHeader(stored);
  const HeaderField* from = nullptr;
  absl::flat_hash_map<std::string, std::vector<const HeaderField*>> by_name;
  for (const HeaderField& field : fields) {
    std::string name = absl::AsciiStrToLower(absl::StripTrailingAsciiWhitespace(field.name));
    if (name == "from" && from == nullptr) from = &field;
    by_name[name].push_back(&field);
  }
  if (from == nullptr) return "";
  const Key* key = KeyFor(FromDomain(from->value));
  if (key == nullptr) return "";

  RelaxedBodyHash body;
  body.Update(BodyOf(stored));
  const std::string body_hash = absl::Base64Escape(body.Finish());

  // h=: every instance of each signed field (picked bottom-up, RFC 6376 §5.4.2), plus one
  // more "from" that matches nothing, so that a From added later breaks the signature.
  std::string signed_data;
  std::vector<std::string> names;
  for (absl::string_view name : kSignedFields) {
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    for (auto field = it->second.rbegin(); field != it->second.rend(); ++field) {
      names.emplace_back(name);
      signed_data += RelaxedHeader((*field)->name, (*field)->value);
    }
  }
  names.emplace_back("from");
  const std::string header_without_b =
      absl::StrCat("DKIM-Signature: v=1; a=", key->ed25519 ? "ed25519-sha256" : "rsa-sha256",
                   "; c=relaxed/relaxed; d=", key->domain, "; s=", key->selector,
                   ";\r\n\tt=", absl::ToUnixSeconds(now), "; h=", absl::StrJoin(names, ":"),
                   ";\r\n\tbh=", body_hash, ";\r\n\tb=");
  std::string relaxed_self =
      RelaxedHeader("DKIM-Signature", absl::string_view(header_without_b).substr(15));
  relaxed_self.resize(relaxed_self.size() - 2);  // RFC 6376 §3.7: without the final CRLF
  signed_data += relaxed_self;

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  CHECK(ctx != nullptr);
  std::string signature;
  size_t size = 0;
  bool ok;
  if (key->ed25519) {
    // RFC 8463 §3: Ed25519 signs the SHA-256 of the canonicalized header data.
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    ok = EVP_Digest(signed_data.data(), signed_data.size(), digest, &digest_size, EVP_sha256(),
                    nullptr) == 1 &&
         EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key->pkey) == 1 &&
         EVP_DigestSign(ctx, nullptr, &size, digest, digest_size) == 1;
    signature.resize(size);
    ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                              digest, digest_size) == 1;
  } else {
    const auto* data = reinterpret_cast<const unsigned char*>(signed_data.data());
    ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key->pkey) == 1 &&
         EVP_DigestSign(ctx, nullptr, &size, data, signed_data.size()) == 1;
    signature.resize(size);
    ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                              signed_data.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return "";
  signature.resize(size);
  return absl::StrCat(header_without_b, Folded(absl::Base64Escape(signature)), "\r\n");
}

}  // namespace tern::delivery
