# The libFuzzer targets, <name>_fuzz.cc each: built by tests/fuzz/CMakeLists.txt in a clang
# sanitizer tree and registered there as fuzz.<name> (tests/CMakeLists.txt). tools/fuzz.sh
# keeps the same list for its default run.
set(TERN_FUZZERS smtp_session smtp_client_reply address sasl dkim_canonicalization
  spool_record http_request_head
  delivery_log_report json_writer dns_answer shaping_state shaping_policy bounce_rules
  suppression_csv suppression_journal http_response inject_request)
