// The bounds of one HTTP injection request (issue 18 §5): every length, count and nesting
// level a client controls has a limit here, checked before anything is built or queued.
//
//   InjectLimits limits;            // the defaults below
//   limits.recipients_max = 1000;   // a tighter listener
//   ASSIGN_OR_RETURN(InjectRequest request, ParseInjectRequest(body, limits));
#pragma once

#include <cstddef>

namespace tern::inject {

struct InjectLimits {
  // The request body as received (the HTTP layer refuses larger bodies before parsing).
  size_t body_bytes_max = size_t{10} << 20;
  // JSON nesting: the deepest valid request is 4 levels
  // (request / content / attachments / attachment), so 16 leaves room and stops a hostile
  // "[[[[..." before it costs anything.
  size_t json_depth_max = 16;
  // JSON values in the whole document (each costs ~100 bytes of memory once parsed).
  size_t json_values_max = 500'000;
  size_t recipients_max = 10'000;
  // A mailbox address (RFC 5321 §4.5.3.1.3: a path is 256 octets with its brackets).
  size_t address_bytes_max = 254;
  // Display names, subject, header values, pool, file names, content types: before
  // substitution. 900 keeps "Header-Name: value" under 998 octets when unencoded.
  size_t short_text_bytes_max = 900;
  // text_body, html_body or raw content, each, before substitution.
  size_t body_text_bytes_max = size_t{5} << 20;
  // Substitution maps: keys per map (request level or one recipient's), key and value bytes.
  size_t substitutions_max = 100;
  size_t substitution_key_bytes_max = 64;
  size_t substitution_value_bytes_max = 4096;
  size_t headers_max = 50;
  size_t attachments_max = 20;
  // One attachment's decoded bytes, and all attachments of the request together.
  size_t attachment_bytes_max = size_t{5} << 20;
  size_t attachments_total_bytes_max = size_t{8} << 20;
  // Metadata: members, and all keys and values together.
  size_t metadata_max = 32;
  size_t metadata_bytes_max = 4096;
  // One built message, encoded: substitution stops with an error past this size, and so
  // does a message that encoding made larger.
  size_t message_bytes_max = size_t{25} << 20;
  // One header value after substitution (before RFC 2047 encoding).
  size_t header_value_expanded_bytes_max = 4096;
  // Request-level errors reported in one answer (the rest are counted, not listed).
  size_t errors_reported_max = 10;
};

}  // namespace tern::inject
