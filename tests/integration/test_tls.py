"""TLS on ternd's listeners, with real clients: smtplib and swaks over STARTTLS (port 25 and
submission) and implicit TLS (port 465); raw sockets for what client libraries would never
send (plaintext pipelined behind STARTTLS, a second STARTTLS, plaintext after close_notify,
plaintext or silence on port 465); sslscan for the protocol versions and cipher suites;
SIGHUP reloading the certificate; the private key's memory kept out of core dumps."""

import os
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

BODY = h.make_body("tls")


class TlsTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-tls-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        self.cert, self.key = h.make_certificate(self.dir)

    def start(self, *flags):
        return self.start_ternd(
            "--smtps_listen=127.0.0.1:0", "--submission_listen=127.0.0.1:0",
            f"--tls_cert={self.cert}", f"--tls_key={self.key}", "--max_message_size=1000000",
            "--segment_size=2100000", *flags)

    def assert_stored_with(self, d, qid, protocol):
        self.assertIn(qid, d.queue_by_id())
        self.assertTrue(d.spool_contains(f"with {protocol} id {qid}".encode()))

    # -- real clients -----------------------------------------------------------------------

    def test_smtplib_starttls_on_smtp_and_submission_ports(self):
        d = self.start()
        for port in (d.smtp_port, d.ports["submission"][0]):
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example",
                              timeout=h.scaled(h.IO_TIMEOUT_S)) as s:
                s.ehlo()
                self.assertTrue(s.has_extn("starttls"), s.esmtp_features)
                code, _ = s.starttls(context=h.tls_client_context())
                self.assertEqual(code, 220)
                self.assertTrue(s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version())
                s.ehlo()
                self.assertFalse(s.has_extn("starttls"), "STARTTLS offered again under TLS")
                s.mail("a@example.com")
                s.rcpt("b@example.net")
                code, text = s.data(BODY)
                self.assertEqual(code, 250, text)
                qid = h.QUEUED_RE.search(text.decode()).group(1)
                self.assert_stored_with(d, qid, "ESMTPS")
        self.assertGreaterEqual(d.metrics().total("tern_tls_handshakes_total",
                                                  direction="inbound", result="ok"), 2)

    def test_smtplib_implicit_tls_on_port_465(self):
        d = self.start()
        with smtplib.SMTP_SSL("127.0.0.1", d.ports["smtps"][0], local_hostname="client.example",
                              context=h.tls_client_context(),
                              timeout=h.scaled(h.IO_TIMEOUT_S)) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            self.assertFalse(s.has_extn("starttls"))
            self.assertEqual(s.docmd("STARTTLS")[0], 554)
            s.mail("a@example.com")
            s.rcpt("b@example.net")
            code, text = s.data(BODY)
            self.assertEqual(code, 250, text)
            qid = h.QUEUED_RE.search(text.decode()).group(1)
        self.assert_stored_with(d, qid, "ESMTPS")

    def test_swaks_starttls_and_implicit_tls(self):
        d = self.start()
        for args in (["--server", f"127.0.0.1:{d.smtp_port}", "--tls"],
                     ["--server", f"127.0.0.1:{d.ports['smtps'][0]}", "--tlsc"]):
            done = h.run_tool(["swaks", "--to", "b@example.net", "--from", "a@example.com",
                               "--helo", "client.example"] + args)
            out = done.stdout.decode(errors="replace")
            self.assertEqual(done.returncode, 0, out)
            self.assertRegex(out, r"TLS started with cipher TLSv1\.[23]")
            self.assertRegex(out, r"<~  250 2\.0\.0 Ok: queued as [0-9A-F]{16}")

    # -- hostile input ------------------------------------------------------------------------

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        """CVE-2011-0411: the injected RSET/MAIL/RCPT must not run after the handshake."""
        d = self.start()
        with d.smtp() as c:
            c.ehlo()
            c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n"
                   b"RCPT TO:<victim@example.net>\r\n")
            self.assertEqual(c.read_reply().text.split()[0:2], ["220", "2.0.0"])
            self.assertEqual(c.pending(0.3), b"", "the server answered injected commands")
            c.start_tls()
            # The EHLO (and everything before TLS) is forgotten; no MAIL is open.
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 503)
            c.ehlo()
            self.assertEqual(c.cmd("RCPT TO:<b@example.net>").code, 503)  # need MAIL
            self.assertEqual(c.send_message("a@example.com", ["b@example.net"], BODY).code, 250)
        self.assertIn("plaintext bytes pipelined after STARTTLS discarded", d.log())
        queue = d.queue_json()
        self.assertEqual(queue["total"], 1)
        self.assertEqual(queue["messages"][0]["sender"], "a@example.com")

    def test_second_starttls_is_refused(self):
        d = self.start()
        with d.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            c.start_tls()
            c.ehlo()
            reply = c.cmd("STARTTLS")
            self.assertEqual((reply.code, reply.text.split()[1]), (554, "5.5.1"), reply)
            self.assertEqual(c.cmd("NOOP").code, 250)  # the session goes on

    def test_starttls_during_a_transaction_is_refused(self):
        d = self.start()
        with d.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 250)
            self.assertEqual(c.cmd("STARTTLS").code, 503)

    def test_close_notify_then_plaintext_ends_the_connection(self):
        d = self.start()
        with d.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            tls = c.start_tls()
            c.ehlo()
            c.sock = tls.unwrap()  # sends close_notify, back to the bare socket
            try:
                c.sock.sendall(b"MAIL FROM:<evil@example.org>\r\n")
            except OSError:
                pass  # already closed: as good
            self.assertEqual(c.wait_eof(), b"", "the server answered plaintext after TLS")
        self.assertEqual(d.queue_json()["total"], 0)

    def test_plaintext_on_the_implicit_tls_port_is_closed_unanswered(self):
        d = self.start()
        with h.SmtpClient(d.ports["smtps"][0], read_greeting=False) as c:
            c.send(b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n")
            data = c.wait_eof()
            self.assertNotIn(b"250", data)
        h.wait_for(lambda: d.metrics().total("tern_tls_handshakes_total",
                                             direction="inbound", result="failed") >= 1,
                   h.scaled(10), what="a counted handshake failure")

    def test_silent_clients_are_closed_at_the_handshake_deadline(self):
        d = self.start("--tls_handshake_timeout=1s")
        start = time.monotonic()
        with h.SmtpClient(d.ports["smtps"][0], read_greeting=False) as silent_465, \
                d.smtp() as silent_after_starttls:
            silent_after_starttls.ehlo()
            self.assertEqual(silent_after_starttls.cmd("STARTTLS").code, 220)
            self.assertEqual(silent_465.wait_eof(timeout_s=20), b"")
            self.assertEqual(silent_after_starttls.wait_eof(timeout_s=20), b"")
        self.assertLess(time.monotonic() - start, h.scaled(20))
        self.assertIn("TLS handshake not done within 1s", d.log())
        self.assertGreaterEqual(d.metrics().total("tern_tls_handshakes_total",
                                                  direction="inbound", result="failed"), 2)

    # -- configuration --------------------------------------------------------------------------

    def test_sslscan_sees_only_tls12_and_tls13_with_strong_ciphers(self):
        d = self.start()
        for extra, port in (([], d.ports["smtps"][0]), (["--starttls-smtp"], d.smtp_port)):
            done = h.run_tool(["sslscan", "--no-colour", "--no-heartbleed"] + extra +
                              [f"127.0.0.1:{port}"], timeout_s=120)
            out = done.stdout.decode(errors="replace")
            self.assertEqual(done.returncode, 0, out)
            for protocol in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"):
                self.assertRegex(out, rf"(?m)^{re.escape(protocol)}\s+disabled", out)
            for protocol in ("TLSv1.2", "TLSv1.3"):
                self.assertRegex(out, rf"(?m)^{re.escape(protocol)}\s+enabled", out)
            self.assertIn("Session renegotiation not supported", out)
            suites = re.findall(r"(?m)^(?:Preferred|Accepted)\s+(TLSv1\.[0-3])\s+\d+ bits\s+(\S+)",
                                out)
            self.assertTrue(suites, out)
            for version, suite in suites:
                self.assertIn(version, ("TLSv1.2", "TLSv1.3"), suite)
                self.assertTrue("GCM" in suite or "CHACHA20" in suite, suite)  # AEAD only
                if version == "TLSv1.2":
                    self.assertTrue(suite.startswith("ECDHE-"), suite)  # forward secrecy

    def fingerprint(self, port):
        with h.SmtpClient(port, read_greeting=False, tls=True) as c:
            return c.sock.getpeercert(binary_form=True)

    def test_sighup_reloads_the_certificate(self):
        d = self.start()
        port = d.ports["smtps"][0]
        first = self.fingerprint(port)
        # A broken file is refused and the running certificate stays.
        with open(self.cert, "w") as f:
            f.write("not a certificate\n")
        d.proc.send_signal(signal.SIGHUP)
        h.wait_for(lambda: "TLS reload failed, keeping the current certificate" in d.log(),
                   h.scaled(10), what="the failed reload in the log")
        self.assertEqual(self.fingerprint(port), first)
        # A new certificate is used by new handshakes once loaded.
        h.make_certificate(self.dir, common_name="mx2.tern.test")  # same paths
        d.proc.send_signal(signal.SIGHUP)
        # The TLS line itself: other parts of a SIGHUP log "reloaded" too (egress, routes).
        h.wait_for(lambda: re.search(r"SIGHUP: TLS certificate \S+ and key \S+ reloaded", d.log()),
                   h.scaled(10), what="the certificate's reload in the log")
        second = self.fingerprint(port)
        self.assertNotEqual(second, first)
        with smtplib.SMTP_SSL("127.0.0.1", port, context=h.tls_client_context(),
                              timeout=h.scaled(h.IO_TIMEOUT_S)) as s:
            self.assertEqual(s.ehlo()[0], 250)

    def test_private_key_lives_in_memory_excluded_from_core_dumps(self):
        d = self.start()
        with open(f"/proc/{d.pid}/smaps") as f:
            smaps = f.read()
        # OpenSSL's secure heap: one 256 KiB anonymous mapping marked "dd" (MADV_DONTDUMP).
        mappings = re.split(r"(?m)^(?=[0-9a-f]+-[0-9a-f]+ )", smaps)
        secure = [m for m in mappings
                  if re.search(r"(?m)^Size:\s+256 kB$", m) and
                  re.search(r"(?m)^VmFlags:.*\bdd\b", m)]
        self.assertTrue(secure, "no 256 KiB MADV_DONTDUMP mapping (OpenSSL secure heap)")

    def test_bad_tls_configuration_is_refused_at_start(self):
        other_cert, other_key = h.make_certificate(self.dir, name="other")
        cases = [
            (["--smtps_listen=127.0.0.1:0"], "--smtps_listen: needs --tls_cert and --tls_key"),
            ([f"--tls_cert={self.cert}"], "--tls_key"),
            ([f"--tls_cert={self.cert}", f"--tls_key={other_key}"], "mismatch"),
            ([f"--tls_cert={self.dir}/missing.pem", f"--tls_key={self.key}"],
             f"{self.dir}/missing.pem"),
        ]
        for flags, expected in cases:
            self.assertTerndRefuses(flags, expected, f"{self.dir}/spool")


if __name__ == "__main__":
    h.main()
