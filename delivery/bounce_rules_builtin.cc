// The built-in bounce rules (delivery/bounce_rules_builtin.h): TOML in the operator's format,
// parsed once by ParseBounceRules. Each rule is decided by at least one real reply in
// tests/delivery/data/bounce_replies.tsv (the test fails for a rule that decides none).
#include "delivery/bounce_rules_builtin.h"

#include <cstdio>

#include "core/check.h"

namespace tern::delivery {
namespace {

constexpr absl::string_view kBuiltinRules = R"toml(
# Tern's built-in bounce rules: tried in order after the operator's, the first match decides.
# Each names the receiver or the MTA whose words it knows. Tern's own failures come first:
# their texts are fixed (delivery/, net/), and a few of them quote a server or a DNS error.

[[rule]]
name = "tern-site-delayed"
class = "no-answer-from-host"
match = 'delayed until .* connection failures in a row'

[[rule]]
name = "tern-delivery-time-expired"
class = "message-expired"
match = 'delivery time expired|message expired|queue lifetime'

[[rule]]
name = "tern-spool-read"
class = "other"
match = 'cannot read the message from the spool'

[[rule]]
name = "tern-null-mx"
class = "bad-domain"
match = 'null MX|accepts no mail'

[[rule]]
name = "tern-dns-no-domain"
class = "bad-domain"
match = 'DNS MX lookup of \S+: (NXDOMAIN|no MX and no A/AAAA records)|has no domain to deliver to'

[[rule]]
name = "tern-dns-failure"
class = "routing-errors"
match = 'DNS (MX|A/AAAA) lookup of '

[[rule]]
name = "tern-tls-failure"
class = "bad-configuration"
match = 'TLS is required|TLS handshake failed|certificate verification failed'

[[rule]]
name = "tern-connect-failure"
class = "no-answer-from-host"
match = 'connect to \S+: |timeout waiting for |connection closed by server|server closing the connection|the server closed the connection|server refused the connection in its greeting'

[[rule]]
name = "tern-protocol-error"
class = "protocol-errors"
match = 'SMTP protocol error from server|server refused (EHLO|RSET)'

[[rule]]
name = "spamhaus-open-resolver"
class = "bad-configuration"
match = 'open resolver'

[[rule]]
name = "exchange-online-recipient-not-found"
class = "bad-mailbox"
match = '^550 5\.4\.1 .*recipient address rejected: access denied|RESOLVER\.ADR\.Recip(ient)?NotFound|not found by SMTP address lookup'

[[rule]]
name = "exchange-online-ip-throttled"
class = "policy-related"
match = '^4\d\d 4\.7\.[5-6]\d\d '

[[rule]]
name = "gmail-no-such-user"
class = "bad-mailbox"
match = 'account that you tried to reach does not exist|p=NoSuchUser'

[[rule]]
name = "gmail-disabled-user"
class = "inactive-mailbox"
match = 'account that you tried to reach is disabled|p=DisabledUser'

[[rule]]
name = "gmail-content-links"
class = "content-related"
match = 'nature of the content|content presents a potential security issue'

[[rule]]
name = "sender-address-rejected"
class = "policy-related"
match = 'sender address rejected|sender domain|sender verify failed'

[[rule]]
name = "recipient-domain-not-found"
class = "bad-domain"
match = 'recipient address rejected: domain not found|domain (does not exist|not found)|no such domain|host or domain name not found|unrouteable (mail )?domain'

[[rule]]
name = "mail-loop"
class = "routing-errors"
match = 'mail loop|loop detected|loops back to myself|too many hops|hop count exceeded|too many received headers'

[[rule]]
name = "yahoo-no-such-account"
class = "bad-mailbox"
match = "doesn't have a \\S+ account"

[[rule]]
name = "mailbox-disabled"
class = "inactive-mailbox"
match = '(account|mailbox|user) (has been |is )?(disabled|discontinued|inactive|deactivated|suspended|closed|expired)|account closed|inactive (user|account|mailbox)'

[[rule]]
name = "mailbox-full"
class = "quota-issues"
match = 'over (storage )?quota|quota (limit )?exceeded|exceeded (storage allocation|quota)|mailbox (is )?full|mailbox size limit|exhausted allowed storage|too many messages on the server|out of storage|insufficient (system )?storage|RESOLVER\.ADR\.MailboxFull'

[[rule]]
name = "recipient-rate-limit"
class = "quota-issues"
match = 'receiving mail (too quickly|at a rate)|deferred due to excessive volume'

[[rule]]
name = "tls-required"
class = "bad-configuration"
match = 'TLS required|must issue a STARTTLS|encryption required|not authenticated to send anonymous mail|authentication required|incorrect authentication data|^535 '

[[rule]]
name = "blocklist-listing"
class = "spam-related"
match = 'spamhaus|spamcop|barracuda ?reputation|dnsbl|blocked using|block ?list|black ?list|blacklisted|listed (in|on|at) |banned sending IP|traffic not accepted from this IP|client host \[[^\]]*\] blocked|\(BL\)'

[[rule]]
name = "spam-verdict"
class = "spam-related"
match = 'spam|unsolicited|junk mail'

[[rule]]
name = "authentication-policy"
class = "policy-related"
match = 'DMARC|\bSPF\b|DKIM|unauthenticated|reverse (DNS|hostname)|cannot find your hostname|\bPTR\b|dynamic IP|valid sender domain'

[[rule]]
name = "relay-denied"
class = "relaying-issues"
match = 'relay(ing)? (access )?(denied|not permitted|prohibited)|unable to relay|we do not relay|not permitted to relay'

[[rule]]
name = "sender-reputation-or-rate"
class = "policy-related"
match = '\[TS[S]?\d+\]|unexpected volume|user complaints|excessive unknown recipients|bad reputation|\(NOWL\)|rate limit|too many (connections|errors|concurrent)|concurrent connections|max(imum)? (number of )?messages? per connection|greylist|graylist|not in whitelist|invalid helo|spoof'

[[rule]]
name = "temporary-server-problem"
class = "other"
match = 'temporary system problem|temporary server error|internal server error|local error in processing|temporarily rejected'

[[rule]]
name = "server-busy"
class = "no-answer-from-host"
match = 'server busy|too busy|resources temporarily unavailable|service (not available|unavailable)|timeout - closing connection|try again later, closing connection'

[[rule]]
name = "message-too-large"
class = "content-related"
match = 'message (size )?(exceeds|too (big|large))|size limit|exceeds (the )?(fixed )?maximum message size|message too large|line is too long|virus|malware|infected|illegal attachment'

[[rule]]
name = "unknown-user"
class = "bad-mailbox"
match = 'user(name)? (is )?unknown|unknown (user|recipient|local part)|no such (user|mailbox|recipient)|user (not found|not exist|does not exist|doesn.t exist)|(mailbox|recipient|account) (not found|does not exist|is not exist|unavailable)|does not exist|addressee unknown|invalid (address|recipient|mailbox)|not a valid (mailbox|recipient)|unrouteable address|no mailbox here|unavailable mail user|unknown or illegal alias|bad address syntax|address rejected\.|benutzer nicht bekannt|mailbox unavailable'

[[rule]]
name = "protocol-violation"
class = "protocol-errors"
match = 'protocol violation|syntax error|command (not recognized|unrecognized)|bad sequence of commands|too many recipients'

[[rule]]
name = "policy-refusal"
class = "policy-related"
match = 'polic(y|ies)|access denied|not authorized|refused|\bblocked\b|rejected'
)toml";

}  // namespace

absl::string_view BuiltinBounceRulesText() { return kBuiltinRules; }

const BounceRuleSet& BuiltinBounceRules() {
  static const BounceRuleSet* const rules = [] {
    absl::StatusOr<BounceRuleSet> parsed = ParseBounceRules(kBuiltinRules, "builtin");
    if (!parsed.ok()) std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    CHECK(parsed.ok());
    return new BounceRuleSet(*std::move(parsed));
  }();
  return *rules;
}

}  // namespace tern::delivery
