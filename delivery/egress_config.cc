// Implementation of delivery/egress_config.h.
#include "delivery/egress_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/check.h"
#include "core/status_macros.h"
#include "net/smtp/address.h"

namespace tern::delivery {
namespace {

constexpr size_t kPoolHeaderBytesMax = 64;

absl::Status FlagError(absl::string_view flag, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", value, ": ", why));
}

// "192.0.2.7", "2001:db8::7" or "[2001:db8::7]" into `source` (port 0).
bool ParseIp(absl::string_view text, EgressSource* source) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == absl::string_view::npos) return false;  // [v4] is not a form
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  source->address = sockaddr_storage{};
  if (text.find(':') == absl::string_view::npos) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&source->address);
    if (inet_pton(AF_INET, buffer, &v4->sin_addr) != 1) return false;
    v4->sin_family = AF_INET;
    source->address_length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&source->address);
  if (inet_pton(AF_INET6, buffer, &v6->sin6_addr) != 1) return false;
  v6->sin6_family = AF_INET6;
  source->address_length = sizeof(sockaddr_in6);
  return true;
}

// RFC 5322 §3.6.8 field-name: printable US-ASCII but ':'.
bool IsValidHeaderName(absl::string_view name) {
  if (name.empty() || name.size() > kPoolHeaderBytesMax) return false;
  for (char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

}  // namespace

bool IsValidEgressName(absl::string_view name) {
  if (name.empty() || name.size() > kEgressNameBytesMax) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::shared_ptr<const EgressConfig>> EgressConfig::Parse(const EgressFlags& flags) {
  auto config = std::shared_ptr<EgressConfig>(new EgressConfig());
  for (const std::string& item : flags.sources) {
    if (absl::Status s = config->ParseSource(item); !s.ok()) return s;
  }
  if (absl::Status s = config->ParsePools(flags.pools); !s.ok()) return s;
  if (!flags.default_pool.empty()) {
    auto it = config->pool_index_.find(flags.default_pool);
    if (it == config->pool_index_.end()) {
      return FlagError("default_pool", flags.default_pool, "no such --egress_pool");
    }
    config->default_pool_index_ = static_cast<int>(it->second);
  }
  for (const std::string& item : flags.sender_pools) {
    if (absl::Status s = config->ParseSenderPool(item); !s.ok()) return s;
  }
  if (!flags.pool_header.empty() && !IsValidHeaderName(flags.pool_header)) {
    return FlagError("pool_header", flags.pool_header,
                     "not a header field name (printable ASCII without ':', at most 64)");
  }
  config->pool_header_ = flags.pool_header;
  return std::shared_ptr<const EgressConfig>(std::move(config));
}

absl::Status EgressConfig::ParseSource(absl::string_view item) {
  const size_t eq = item.find('=');
  if (eq == absl::string_view::npos) return FlagError("egress_source", item, "want NAME=IP[@EHLO]");
  EgressSource source;
  source.name = std::string(item.substr(0, eq));
  if (!IsValidEgressName(source.name)) {
    return FlagError("egress_source", item,
                     absl::StrCat("bad source name '", source.name,
                                  "' (1 to 64 of letters, digits, '_', '.', '-')"));
  }
  absl::string_view rest = item.substr(eq + 1);
  const size_t at = rest.find('@');
  const absl::string_view ip = rest.substr(0, at);
  if (at != absl::string_view::npos) {
    const absl::string_view ehlo = rest.substr(at + 1);
    // A name of this host as the world sees it: an RFC 5321 Domain, no address literal.
    if (ehlo.empty() || ehlo.front() == '[' ||
        !net::smtp::IsValidDomain(ehlo, /*smtputf8=*/false)) {
      return FlagError("egress_source", item, absl::StrCat("bad EHLO name '", ehlo, "'"));
    }
    source.ehlo_name = std::string(ehlo);
  }
  if (!ParseIp(ip, &source)) {
    return FlagError("egress_source", item, absl::StrCat("bad IP address '", ip, "'"));
  }
  if (source_index_.contains(source.name)) {
    return FlagError("egress_source", item,
                     absl::StrCat("source '", source.name, "' defined twice"));
  }
  if (sources_.size() >= kEgressSourcesMax) {
    return FlagError("egress_source", item, absl::StrCat("more than ", kEgressSourcesMax));
  }
  source_index_.emplace(source.name, sources_.size());
  sources_.push_back(std::move(source));
  return absl::OkStatus();
}

absl::Status EgressConfig::ParsePools(const std::vector<std::string>& items) {
  // abseil has split the value at commas: put each pool's definition back together, so
  // that errors name all of it ("--egress_pool=bulk=ip1,ip7: ...").
  std::vector<std::string> definitions;
  for (const std::string& item : items) {
    if (definitions.empty() || item.find('=') != std::string::npos) {
      definitions.push_back(item);
    } else {
      absl::StrAppend(&definitions.back(), ",", item);
    }
  }
  for (const std::string& definition : definitions) {
    for (absl::string_view part : absl::StrSplit(definition, ',')) {
      RETURN_IF_ERROR(ParsePoolPart(definition, absl::StripAsciiWhitespace(part)));
    }
  }
  for (const EgressPool& pool : pools_) {
    CHECK(!pool.members.empty());  // every pool part names a member
    bool any = false;
    for (const EgressPoolMember& m : pool.members) any = any || m.weight > 0;
    if (!any) {
      warnings_.push_back(absl::StrCat("--egress_pool: every source of pool '", pool.name,
                                       "' has weight 0: its mail waits until one is raised"));
    }
  }
  return absl::OkStatus();
}

absl::Status EgressConfig::ParsePoolPart(absl::string_view item, absl::string_view part) {
  if (part.empty()) return FlagError("egress_pool", item, "empty member");
  absl::string_view member = part;
  const size_t eq = part.find('=');
  if (eq != absl::string_view::npos) {
    const std::string name(part.substr(0, eq));
    if (!IsValidEgressName(name)) {
      return FlagError(
          "egress_pool", item,
          absl::StrCat("bad pool name '", name, "' (1 to 64 of letters, digits, '_', '.', '-')"));
    }
    if (pool_index_.contains(name)) {
      return FlagError("egress_pool", item, absl::StrCat("pool '", name, "' defined twice"));
    }
    if (pools_.size() >= kEgressPoolsMax) {
      return FlagError("egress_pool", item, absl::StrCat("more than ", kEgressPoolsMax));
    }
    pool_index_.emplace(name, pools_.size());
    pools_.push_back(EgressPool{name, {}});
    member = part.substr(eq + 1);
  } else if (pools_.empty()) {
    return FlagError("egress_pool", item, "want POOL=NAME[:WEIGHT][,NAME[:WEIGHT]...]");
  }
  EgressPool& pool = pools_.back();
  const size_t colon = member.find(':');
  const absl::string_view source_name = member.substr(0, colon);
  EgressPoolMember entry;
  if (colon != absl::string_view::npos) {
    const absl::string_view weight_text = member.substr(colon + 1);
    if (!absl::SimpleAtoi(weight_text, &entry.weight) || entry.weight > kEgressWeightMax ||
        weight_text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(weight_text[0]))) {
      return FlagError(
          "egress_pool", item,
          absl::StrCat("bad weight '", weight_text, "' (0 to ", kEgressWeightMax, ")"));
    }
  }
  auto source = source_index_.find(source_name);
  if (source == source_index_.end()) {
    return FlagError("egress_pool", item,
                     absl::StrCat("unknown source '", source_name, "' in pool '", pool.name,
                                  "' (no --egress_source of that name)"));
  }
  entry.source_index = static_cast<uint32_t>(source->second);
  for (const EgressPoolMember& m : pool.members) {
    if (m.source_index == entry.source_index) {
      return FlagError("egress_pool", item,
                       absl::StrCat("source '", source_name, "' twice in pool '", pool.name, "'"));
    }
  }
  pool.members.push_back(entry);
  return absl::OkStatus();
}

absl::Status EgressConfig::ParseSenderPool(absl::string_view item) {
  const size_t eq = item.find('=');
  if (eq == absl::string_view::npos) return FlagError("sender_pool", item, "want DOMAIN=POOL");
  const std::string domain = absl::AsciiStrToLower(item.substr(0, eq));
  const absl::string_view pool = item.substr(eq + 1);
  if (domain.empty() || !net::smtp::IsValidDomain(domain, /*smtputf8=*/true)) {
    return FlagError("sender_pool", item, absl::StrCat("bad domain '", domain, "'"));
  }
  auto it = pool_index_.find(pool);
  if (it == pool_index_.end()) {
    return FlagError("sender_pool", item,
                     absl::StrCat("unknown pool '", pool, "' (no --egress_pool of that name)"));
  }
  if (!sender_pool_.emplace(domain, it->second).second) {
    return FlagError("sender_pool", item, absl::StrCat("domain '", domain, "' listed twice"));
  }
  return absl::OkStatus();
}

const EgressSource* EgressConfig::FindSource(absl::string_view name) const {
  auto it = source_index_.find(name);
  return it == source_index_.end() ? nullptr : &sources_[it->second];
}

const EgressPool* EgressConfig::FindPool(absl::string_view name) const {
  auto it = pool_index_.find(name);
  return it == pool_index_.end() ? nullptr : &pools_[it->second];
}

const EgressPool* EgressConfig::SenderPool(absl::string_view sender_domain) const {
  if (sender_pool_.empty() || sender_domain.empty()) return nullptr;
  auto it = sender_pool_.find(absl::AsciiStrToLower(sender_domain));
  return it == sender_pool_.end() ? nullptr : &pools_[it->second];
}

}  // namespace tern::delivery
