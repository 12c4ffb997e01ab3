// Implementation of delivery/message_pool_resolver.h.
#include "delivery/message_pool_resolver.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "delivery/header_field_removal.h"
#include "net/smtp/address.h"

namespace tern::delivery {
namespace {

constexpr size_t kQuotedNameBytesMax = 64;

// The name as it may appear in a reply and a log line: printable ASCII, bounded.
std::string Quoted(absl::string_view name) {
  std::string out = "\"";
  for (size_t i = 0; i < name.size() && i < kQuotedNameBytesMax; ++i) {
    const char c = name[i];
    out.push_back(c >= 32 && c < 127 && c != '"' && c != '\\' ? c : '?');
  }
  if (name.size() > kQuotedNameBytesMax) out += "...";
  out.push_back('"');
  return out;
}

absl::Status UnknownPool(absl::string_view name, absl::string_view where) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown egress pool ", Quoted(name), " (", where, ")"));
}

}  // namespace

absl::StatusOr<absl::string_view> MessagePoolResolver::Resolve(core::ByteBuffer* record,
                                                               size_t begin, size_t* end,
                                                               absl::string_view sender,
                                                               absl::string_view auth_pool) const {
  CHECK(active());
  const EgressConfig& config = *config_;
  if (!config.pool_header().empty()) {
    std::optional<std::string> named = RemoveHeaderField(record, begin, end, config.pool_header());
    if (named.has_value()) {
      const EgressPool* pool = config.FindPool(*named);
      if (pool == nullptr) return UnknownPool(*named, config.pool_header());
      return absl::string_view(pool->name);
    }
  }
  if (const EgressPool* pool = config.SenderPool(net::smtp::DomainOf(sender)); pool != nullptr) {
    return absl::string_view(pool->name);
  }
  if (!auth_pool.empty()) {
    const EgressPool* pool = config.FindPool(auth_pool);
    if (pool == nullptr) return UnknownPool(auth_pool, "the user's pool");
    return absl::string_view(pool->name);
  }
  if (const EgressPool* pool = config.default_pool(); pool != nullptr) {
    return absl::string_view(pool->name);
  }
  return absl::string_view();
}

}  // namespace tern::delivery
