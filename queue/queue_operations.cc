// Implementation of queue/queue_operations.h.
#include "queue/queue_operations.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "delivery/bounce_class.h"
#include "delivery/bounce_classifier.h"
#include "net/smtp/address.h"
#include "net/smtp/client_reply_parser.h"
#include "net/smtp/dot_stuffing.h"

namespace tern::queue {
namespace {

constexpr absl::string_view kDeletedReason = "deleted by the operator";

bool InDelivery(const ShardView& shard, uint64_t id) {
  return shard.agent != nullptr && shard.agent->InDelivery(id);
}

// Calls fn(id, entry, state) for every message `filter` selects, in queue id order.
template <typename Fn>
void ForEachMatch(const ShardView& shard, const QueueFilter& filter, Fn fn) {
  const absl::Time now = absl::Now();
  const spool::QueueIndex& index = shard.spool->index();
  auto visit = [&](uint64_t id, const spool::QueueEntry& entry) {
    const MessageState state = StateOf(entry, InDelivery(shard, id));
    if (filter.Matches(entry, now, state)) return fn(id, entry, state);
    return true;
  };
  if (!filter.ids.empty()) {
    for (uint64_t id : filter.ids) {
      const spool::QueueEntry* entry = index.Find(id);
      if (entry != nullptr && !visit(id, *entry)) return;
    }
    return;
  }
  for (const auto& [id, entry] : index) {
    if (!visit(id, entry)) return;
  }
}

QueueRow RowOf(const ShardView& shard, uint64_t id, const spool::QueueEntry& entry,
               MessageState state) {
  QueueRow row{.id = id,
               .shard = shard.shard_id,
               .received_unix_us = entry.received_unix_us(),
               .size = entry.message_bytes(),
               .state = state,
               .attempts = entry.attempts(),
               .next_attempt_unix_us = entry.next_attempt_unix_us(),
               .held_until_unix_us = entry.held_until_unix_us(),
               .sender = std::string(entry.sender())};
  row.recipients.reserve(entry.recipient_count());
  for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
    row.recipients.push_back({std::string(entry.recipient(i)), entry.recipient_state(i)});
  }
  return row;
}

// Each recipient left gets the reply of its last attempt (the history is oldest first).
// The classifier of the shard's delivery agent (the built-in rules without one).
const delivery::BounceClassifier& ClassifierOf(const ShardView& shard) {
  if (shard.agent != nullptr) return shard.agent->bounce_classifier();
  return *delivery::BounceClassifier::Builtin();
}

// An attempt's bounce class: "" for a delivery.
std::string ClassOf(const delivery::BounceClassifier& classifier, const spool::AttemptNote& note) {
  switch (note.state) {
    case spool::RecipientState::kDeferred:
    case spool::RecipientState::kBounced:
      return std::string(delivery::BounceClassName(
          classifier.Classify(note.reply_code, note.enhanced_code, note.reply_text)));
    case spool::RecipientState::kExpired:
      return std::string(delivery::BounceClassName(delivery::BounceClass::kMessageExpired));
    case spool::RecipientState::kDelivered:
    case spool::RecipientState::kDeleted:
    case spool::RecipientState::kPending:
      break;
  }
  return "";
}

void AddLastReplies(const ShardView& shard, QueueRow* row) {
  if (row->attempts == 0) return;
  const delivery::BounceClassifier& classifier = ClassifierOf(shard);
  for (const spool::AttemptNote& note : shard.spool->index().history().Of(row->id)) {
    if (note.recipient >= row->recipients.size()) continue;
    QueueRow::Recipient& r = row->recipients[note.recipient];
    if (spool::IsFinalRecipientState(r.state)) continue;
    r.last_reply = note.destination_host.empty()
                       ? note.reply_text
                       : absl::StrCat(note.destination_host, " said: ", note.reply_text);
    r.last_class = ClassOf(classifier, note);
  }
}

// The header section of a stored message: up to the first empty line.
absl::string_view HeaderSection(absl::string_view body) {
  for (size_t at = 0; at < body.size();) {
    const size_t eol = body.find('\n', at);
    if (eol == absl::string_view::npos) return body;
    const absl::string_view line = body.substr(at, eol - at);
    if (line.empty() || line == "\r") return body.substr(0, at);
    at = eol + 1;
  }
  return body;
}

// Records a DELETED result for every recipient left, then logs them.
void DeleteMessage(const ShardView& shard, uint64_t id, const spool::QueueEntry& entry,
                   absl::AnyInvocable<void(absl::Status)> done) {
  std::vector<spool::RecipientResult> results;
  std::vector<std::string> addresses;
  for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
    if (spool::IsFinalRecipientState(entry.recipient_state(i))) continue;
    results.push_back({.recipient = i,
                       .state = spool::RecipientState::kDeleted,
                       .attempts = entry.attempts(),
                       .reply_text = kDeletedReason});
    addresses.emplace_back(entry.recipient(i));
  }
  if (results.empty()) {
    done(absl::NotFoundError("no recipient left"));
    return;
  }
  if (shard.agent != nullptr) shard.agent->ForgetRetry(id);
  const absl::Time received = absl::FromUnixMicros(entry.received_unix_us());
  shard.spool->RecordRecipientResults(
      id, results,
      [shard, id, received, attempts = static_cast<int>(entry.attempts()),
       sender = std::string(entry.sender()), addresses = std::move(addresses),
       done = std::move(done)](absl::Status status) mutable {
        if (status.ok()) {
          delivery::DeliveryCounters::Add(shard.counters->recipients_deleted, addresses.size());
          const absl::Time now = absl::Now();
          for (const std::string& address : addresses) {
            if (shard.log == nullptr) break;
            shard.log->Append({.event = "deleted",
                               .queue_id = id,
                               .sender = sender,
                               .recipient = address,
                               .reply = kDeletedReason,
                               .attempts = attempts,
                               .delay = now - received,
                               .time = now});
          }
        }
        done(std::move(status));
      });
}

}  // namespace

const char* QueueActionName(QueueAction action) {
  switch (action) {
    case QueueAction::kHold:
      return "hold";
    case QueueAction::kRelease:
      return "release";
    case QueueAction::kFlush:
      return "flush";
    case QueueAction::kDelete:
      return "delete";
    case QueueAction::kBounce:
      return "bounce";
  }
  return "unknown";
}

void ListQueue(const ShardView& shard, const QueueFilter& filter, size_t limit,
               absl::AnyInvocable<void(QueueListing)> reply) {
  QueueListing listing;
  ForEachMatch(shard, filter, [&](uint64_t id, const spool::QueueEntry& entry, MessageState s) {
    ++listing.matched;
    listing.matched_bytes += entry.message_bytes();
    if (listing.rows.size() < limit) {
      listing.rows.push_back(RowOf(shard, id, entry, s));
      AddLastReplies(shard, &listing.rows.back());
    }
    return true;
  });
  reply(std::move(listing));
}

BounceVerdict ClassifyReply(const ShardView& shard, absl::string_view reply) {
  int code = 0;
  absl::string_view rest = reply;
  if (rest.size() >= 3 && absl::ascii_isdigit(rest[0]) && absl::ascii_isdigit(rest[1]) &&
      absl::ascii_isdigit(rest[2]) && (rest.size() == 3 || rest[3] == ' ' || rest[3] == '-')) {
    code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    rest.remove_prefix(std::min<size_t>(4, rest.size()));
  }
  net::smtp::EnhancedCode enhanced;
  net::smtp::ParseEnhancedCode(rest, &enhanced);
  const delivery::BounceClassifier::Verdict verdict =
      ClassifierOf(shard).Explain(code, enhanced.ToString(), reply);
  return {.reply = std::string(reply),
          .bounce_class = std::string(delivery::BounceClassName(verdict.bounce_class)),
          .reason = verdict.reason};
}

void ShowMessage(const ShardView& shard, uint64_t queue_id,
                 absl::AnyInvocable<void(MessageDetails)> reply) {
  const spool::QueueEntry* entry = shard.spool->index().Find(queue_id);
  MessageDetails details;
  if (entry == nullptr) {
    reply(std::move(details));
    return;
  }
  details.found = true;
  details.row = RowOf(shard, queue_id, *entry, StateOf(*entry, InDelivery(shard, queue_id)));
  AddLastReplies(shard, &details.row);
  details.attempts = shard.spool->index().history().Of(queue_id);
  const delivery::BounceClassifier& classifier = ClassifierOf(shard);
  for (const spool::AttemptNote& note : details.attempts) {
    details.attempt_classes.push_back(ClassOf(classifier, note));
  }
  shard.spool->ReadMessage(queue_id, [details = std::move(details), reply = std::move(reply)](
                                         absl::StatusOr<spool::LoadedMessage> loaded) mutable {
    if (!loaded.ok()) {
      details.read_error = std::string(loaded.status().message());
      reply(std::move(details));
      return;
    }
    const spool::MessageRecordView& view = loaded->view();
    details.client_address = std::string(view.client_address());
    details.helo = std::string(view.helo());
    details.envid = std::string(view.envid());
    spool::RecipientView r;
    for (auto it = view.recipients(); it.Next(&r);) details.orcpts.emplace_back(r.orcpt);
    const absl::string_view headers = HeaderSection(loaded->body());
    details.headers_truncated = headers.size() > kShowHeaderBytesMax;
    details.headers = std::string(core::Utf8Prefix(headers, kShowHeaderBytesMax));
    reply(std::move(details));
  });
}

void ReadStoredMessage(const ShardView& shard, uint64_t queue_id, size_t bytes_max,
                       absl::AnyInvocable<void(StoredMessage)> reply) {
  if (shard.spool->index().Find(queue_id) == nullptr) {
    reply(StoredMessage{});
    return;
  }
  shard.spool->ReadMessage(queue_id, [bytes_max, reply = std::move(reply)](
                                         absl::StatusOr<spool::LoadedMessage> loaded) mutable {
    StoredMessage message{.found = true};
    if (!loaded.ok()) {
      message.read_error = std::string(loaded.status().message());
      reply(std::move(message));
      return;
    }
    message.stored_bytes = loaded->body().size();
    message.text = net::smtp::Unstuffed(loaded->body().substr(0, bytes_max));
    message.truncated = loaded->body().size() > bytes_max;
    reply(std::move(message));
  });
}

void ApplyQueueAction(const ShardView& shard, QueueAction action, const QueueFilter& filter,
                      const ActionOptions& options, absl::AnyInvocable<void(ActionOutcome)> reply) {
  struct Pending {
    ActionOutcome outcome;
    size_t left = 1;  // one for the loop below, released at its end
    absl::AnyInvocable<void(ActionOutcome)> reply;
    void Error(uint64_t id, absl::string_view why) {
      if (outcome.errors.size() < ActionOutcome::kErrorsKept) {
        outcome.errors.emplace_back(id, std::string(why));
      }
    }
    void Done() {
      if (--left == 0) reply(std::move(outcome));
    }
  };
  auto pending = std::make_shared<Pending>();
  pending->reply = std::move(reply);
  auto on_durable = [pending](uint64_t id) {
    return [pending, id](absl::Status status) {
      if (status.ok()) {
        ++pending->outcome.changed;
      } else {
        pending->Error(id, status.message());
      }
      pending->Done();
    };
  };
  // Collected first: the actions change the index.
  std::vector<uint64_t> ids;
  ForEachMatch(shard, filter, [&](uint64_t id, const spool::QueueEntry&, MessageState) {
    ids.push_back(id);
    return true;
  });
  pending->outcome.matched = ids.size();
  if ((action == QueueAction::kFlush || action == QueueAction::kBounce) && shard.agent == nullptr) {
    if (!ids.empty()) pending->Error(0, "delivery is off (--deliver=false)");
    pending->Done();
    return;
  }
  for (uint64_t id : ids) {
    const spool::QueueEntry* entry = shard.spool->index().Find(id);
    if (entry == nullptr) continue;  // finished meanwhile
    switch (action) {
      case QueueAction::kHold:
        // Held already: only a different end is recorded.
        if (entry->held() && entry->held_until_unix_us() == options.hold_until_unix_us) break;
        ++pending->left;
        if (shard.agent != nullptr) shard.agent->ForgetRetry(id);
        shard.spool->SetHeld(id, true, on_durable(id), options.hold_until_unix_us);
        break;
      case QueueAction::kRelease:
        if (!entry->held()) break;
        ++pending->left;
        shard.spool->SetHeld(id, false, [shard, id, done = on_durable(id)](absl::Status s) mutable {
          if (s.ok() && shard.agent != nullptr) shard.agent->Enqueue(id);
          done(std::move(s));
        });
        break;
      case QueueAction::kFlush:
        if (shard.agent->DeliverNow(id)) ++pending->outcome.changed;
        break;
      case QueueAction::kDelete:
        if (InDelivery(shard, id)) {
          pending->Error(id, "in delivery now (try again when the attempt ends)");
          break;
        }
        ++pending->left;
        DeleteMessage(shard, id, *entry, on_durable(id));
        break;
      case QueueAction::kBounce:
        if (absl::Status bounced = shard.agent->Bounce(id, options.bounce_reason); bounced.ok()) {
          ++pending->outcome.changed;
        } else {
          pending->Error(id, bounced.message());
        }
        break;
    }
  }
  if (!ids.empty()) {
    TERN_LOG(kInfo, "ternctl %s: %d messages matched", QueueActionName(action), ids.size());
  }
  pending->Done();
}

void ShapeQueue(const ShardView& shard, const QueueFilter& filter,
                absl::AnyInvocable<void(QueueShape)> reply) {
  QueueShape shape;
  const absl::Time now = absl::Now();
  std::vector<std::string> domains;
  ForEachMatch(shard, filter, [&](uint64_t, const spool::QueueEntry& entry, MessageState) {
    domains.clear();
    for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
      if (spool::IsFinalRecipientState(entry.recipient_state(i))) continue;
      std::string domain = absl::AsciiStrToLower(net::smtp::DomainOf(entry.recipient(i)));
      if (std::find(domains.begin(), domains.end(), domain) == domains.end()) {
        domains.push_back(std::move(domain));
      }
    }
    shape.Add(domains, now - absl::FromUnixMicros(entry.received_unix_us()));
    return true;
  });
  shape.Truncate(QueueShape::kRowsPerShardMax);
  reply(std::move(shape));
}

void CollectShardStats(const ShardView& shard, absl::AnyInvocable<void(ShardStats)> reply) {
  ShardStats stats{.shard = shard.shard_id,
                   .messages = shard.spool->index().count(),
                   .bytes = shard.spool->index().message_bytes(),
                   .smtp_connections = shard.smtp_connections};
  for (const auto& [id, entry] : shard.spool->index()) {
    switch (StateOf(entry, InDelivery(shard, id))) {
      case MessageState::kQueued:
        ++stats.queued;
        break;
      case MessageState::kDeferred:
        ++stats.deferred;
        break;
      case MessageState::kHeld:
        ++stats.held;
        break;
      case MessageState::kActive:
        ++stats.active;
        break;
    }
    for (uint32_t i = 0; i < entry.recipient_count(); ++i) {
      if (!spool::IsFinalRecipientState(entry.recipient_state(i))) ++stats.recipients_left;
    }
  }
  if (shard.agent != nullptr) {
    stats.outbound_connections = shard.counters->active_connections.load(std::memory_order_relaxed);
    stats.destinations = shard.agent->Destinations();
  }
  reply(std::move(stats));
}

}  // namespace tern::queue
