"""Authenticated submission with real clients: accounts written by `ternctl passwd`, smtplib
and swaks logging in with PLAIN and LOGIN over STARTTLS (submission) and implicit TLS (465);
raw sockets for what clients would not send: AUTH before TLS, identities with CR/LF/NUL,
undecodable responses, repeated failures, throttling per address, MAIL before AUTH,
--sender_login_match. Relaying to any domain needs AUTH once --relay_networks is empty."""

import base64
import os
import shutil
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

BODY = h.make_body("auth")


def b64(raw):
    return base64.b64encode(raw).decode()


class AuthTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-auth-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert, self.key = h.make_certificate(self.dir)
        self.users = os.path.join(self.dir, "users")
        self.passwd("alice@example.com", "alice-secret")
        self.passwd("bob", "bob-secret", "--senders=bob@example.org,@sales.example.org")

    def passwd(self, user, password, *flags, check=True):
        done = h.run_tool([h.TERNCTL, "passwd", user, f"--users_file={self.users}", *flags],
                          input_bytes=(password + "\n").encode())
        if check:
            self.assertEqual(done.returncode, 0, done.stderr.decode())
        return done

    def start(self, *flags):
        return self.start_ternd(
            "--submission_listen=127.0.0.1:0", "--smtps_listen=127.0.0.1:0",
            f"--tls_cert={self.cert}", f"--tls_key={self.key}", f"--auth_users_file={self.users}",
            "--relay_networks=", *flags)

    def submission(self, d):
        c = h.SmtpClient(d.ports["submission"][0])
        self.addCleanup(c.close)
        c.ehlo()
        self.assertEqual(c.cmd("STARTTLS").code, 220)
        c.start_tls()
        reply = c.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", reply.text)
        return c

    def test_smtplib_logs_in_and_relays_anywhere(self):
        d = self.start()
        for method in ("PLAIN", "LOGIN"):
            with smtplib.SMTP("127.0.0.1", d.ports["submission"][0],
                              timeout=h.scaled(h.IO_TIMEOUT_S)) as s:
                s.ehlo()
                self.assertFalse(s.has_extn("auth"), "AUTH offered before TLS")
                s.starttls(context=h.tls_client_context())
                s.ehlo()
                s.user, s.password = "alice@example.com", "alice-secret"
                code, _ = s.auth(method, getattr(s, "auth_" + method.lower()))
                self.assertEqual(code, 235)
                # Not a relay client and not a local domain: allowed because authenticated.
                refused = s.sendmail("alice@example.com", ["someone@elsewhere.example"], BODY)
                self.assertEqual(refused, {})
        self.assertEqual(d.queue_json()["total"], 2)
        self.assertIn("authenticated as alice@example.com", d.log())
        # The port-25 listener does not relay for the same client without AUTH.
        with d.smtp() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<alice@example.com>").code, 250)
            reply = c.cmd("RCPT TO:<someone@elsewhere.example>")
            self.assertEqual((reply.code, reply.text.split()[1]), (554, "5.7.1"))

    def test_swaks_on_465_and_the_received_header(self):
        d = self.start()
        done = h.run_tool(["swaks", "--server", f"127.0.0.1:{d.ports['smtps'][0]}", "--tlsc",
                           "--auth", "LOGIN", "--auth-user", "bob", "--auth-password",
                           "bob-secret", "--from", "bob@example.org", "--to",
                           "x@elsewhere.example"])
        out = done.stdout.decode(errors="replace")
        self.assertEqual(done.returncode, 0, out)
        self.assertIn("235 2.7.0", out)
        qid = h.QUEUED_RE.search(out).group(1)
        self.assertTrue(d.spool_contains(f"with ESMTPSA id {qid}".encode()))

    def test_wrong_password_and_unknown_user_get_the_same_reply(self):
        d = self.start("--auth_failures_max=5")
        c = self.submission(d)
        wrong = c.cmd("AUTH PLAIN " + b64(b"\0bob\0not-it"))
        unknown = c.cmd("AUTH PLAIN " + b64(b"\0mallory\0bob-secret"))
        self.assertEqual(wrong.lines, unknown.lines)
        self.assertEqual((wrong.code, wrong.text.split()[1]), (535, "5.7.8"))
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret")).code, 235)

    def test_auth_before_tls_is_refused(self):
        d = self.start()
        c = h.SmtpClient(d.ports["submission"][0])
        self.addCleanup(c.close)
        self.assertNotIn("AUTH", c.ehlo().text)
        reply = c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret"))
        self.assertEqual((reply.code, reply.text.split()[1]), (538, "5.7.11"))
        reply = c.cmd("MAIL FROM:<bob@example.org>")
        self.assertEqual((reply.code, reply.text.split()[1]), (530, "5.7.0"))

    def test_hostile_responses(self):
        d = self.start("--auth_failures_max=10")
        c = self.submission(d)
        for raw in (b"\0bo\rb\0bob-secret", b"\0bo\nb\0bob-secret", b"\0bob\0bob\rsecret",
                    b"carol\0bob\0bob-secret"):
            reply = c.cmd("AUTH PLAIN " + b64(raw))
            self.assertEqual(reply.code, 535, raw)
        self.assertEqual(c.cmd("AUTH PLAIN !!!notbase64").code, 501)
        self.assertEqual(c.cmd("AUTH LOGIN").code, 334)
        self.assertEqual(c.cmd("*").text.split()[:2], ["501", "5.7.0"])
        self.assertEqual(c.cmd("AUTH GSSAPI").code, 504)
        # Over the 512-byte command line: refused as such, the session stays in sync.
        self.assertEqual(c.cmd("AUTH PLAIN " + "A" * 5000).text.split()[:2], ["500", "5.5.2"])
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret")).code, 235)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret")).code, 503)
        self.assertNotIn("bob-secret", d.log())  # passwords are never logged

    def test_failures_per_connection_end_it(self):
        d = self.start("--auth_failures_max=3")
        c = self.submission(d)
        for _ in range(2):
            self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0wrong")).code, 535)
        c.send("AUTH PLAIN " + b64(b"\0bob\0wrong") + "\r\n")
        replies = [c.read_reply(), c.read_reply()]
        self.assertEqual([r.code for r in replies], [535, 421])
        c.wait_eof()

    def test_attempts_are_throttled_per_address(self):
        d = self.start("--auth_attempts_per_minute=2", "--auth_failures_max=10")
        c = self.submission(d)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0wrong")).code, 535)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0wrong")).code, 535)
        reply = c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret"))  # right, but over the limit
        self.assertEqual((reply.code, reply.text.split()[1]), (454, "4.7.0"))
        self.assertIn("throttled", d.log())

    def test_sender_login_match(self):
        d = self.start("--sender_login_match")
        c = self.submission(d)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64(b"\0bob\0bob-secret")).code, 235)
        reply = c.cmd("MAIL FROM:<alice@example.com>")
        self.assertEqual((reply.code, reply.text.split()[1]), (553, "5.7.1"))
        self.assertEqual(c.cmd("MAIL FROM:<anyone@sales.example.org>").code, 250)
        self.assertEqual(c.cmd("RSET").code, 250)
        self.assertEqual(c.cmd("MAIL FROM:<bob@example.org>").code, 250)

    def test_ternctl_passwd_and_bad_configuration(self):
        self.assertEqual(self.passwd("bad user", "x", check=False).returncode, 1)
        self.assertEqual(self.passwd("carol", "", check=False).returncode, 1)
        with open(self.users) as f:
            text = f.read()
        self.assertEqual(len(text.splitlines()), 2)
        self.passwd("bob", "new-secret")  # replaces the hash, keeps the senders
        with open(self.users) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].startswith("bob:$scrypt$") and
                        lines[1].endswith(":bob@example.org,@sales.example.org"), lines[1])
        self.assertEqual(oct(os.stat(self.users).st_mode & 0o777), "0o640")
        for flags, expected in (
                ([f"--auth_users_file={self.users}"], "--auth_users_file: AUTH is offered under TLS"),
                (["--sender_login_match"], "needs --auth_users_file"),
                ([f"--tls_cert={self.cert}", f"--tls_key={self.key}",
                  f"--auth_users_file={self.dir}/missing"], "missing")):
            self.assertTerndRefuses(flags, expected, f"{self.dir}/spool")


if __name__ == "__main__":
    h.main()
