"""Egress sources and pools at configuration and reception: `ternd --check_config` accepts
good --egress_source/--egress_pool/--default_pool/--sender_pool flags and names the flag
and value of every bad one (a bad IP, an unknown source in a pool, a bad weight, an unknown
pool, an address not on this host); ternd refuses to start with a source it cannot bind.
At reception the X-Tern-Pool header is read and removed: relayed to the recording sink the
message arrives without it and otherwise byte-identical; a header naming no configured pool
is refused with 554 5.3.0, and a users file pool=NAME must name a configured pool."""
import os
import shutil
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402
from recording_sink import RecordingSink  # noqa: E402

DOMAIN = "egress.test"
GOOD = ["--egress_source=ip2=127.0.0.2@mta2.example.com", "--egress_source=ip3=127.0.0.3",
        "--egress_pool=bulk=ip2:3,ip3", "--egress_pool=trans=ip3", "--default_pool=trans",
        "--sender_pool=news.example.com=bulk"]


class CheckConfigTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-it-egress-")
        os.chmod(self.dir, 0o755)  # --user=nobody must reach the spool's parent
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.spool = os.path.join(self.dir, "spool")

    def check(self, *flags):
        args = [h.TERND, "--check_config", "--listen=127.0.0.1:0", "--admin_listen=",
                f"--spool_dir={self.spool}", "--delivery_log=", "--deliver=false",
                "--shards=1"]
        if os.geteuid() == 0:
            args.append("--user=nobody")
        done = h.run_tool(args + list(flags))
        return done.returncode, done.stderr.decode(errors="replace").splitlines()

    def assertProblem(self, flags, line):
        rc, err = self.check(*flags)
        self.assertEqual(rc, 1, "\n".join(err))
        self.assertIn(line, err)
        self.assertEqual(err[-1], "ternd: 1 problem(s) found", "\n".join(err))

    def test_good_egress_flags_pass(self):
        rc, err = self.check(*GOOD)
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertEqual([e for e in err if e.startswith("ternd: config:")], [])

    def test_bad_egress_flags_are_named(self):
        cases = [
            (["--egress_source=ip9=300.1.2.3"],
             "ternd: config: --egress_source=ip9=300.1.2.3: bad IP address '300.1.2.3'"),
            (["--egress_source=ip9=127.0.0.9@bad_name!"],
             "ternd: config: --egress_source=ip9=127.0.0.9@bad_name!: bad EHLO name 'bad_name!'"),
            (["--egress_source=ip2=127.0.0.4"],
             "ternd: config: --egress_source=ip2=127.0.0.4: source 'ip2' defined twice"),
            (["--egress_pool=other=ip2,nope"],
             "ternd: config: --egress_pool=other=ip2,nope: unknown source 'nope' in pool "
             "'other' (no --egress_source of that name)"),
            (["--egress_pool=other=ip2:1001"],
             "ternd: config: --egress_pool=other=ip2:1001: bad weight '1001' (0 to 1000)"),
            (["--default_pool=nope"],
             "ternd: config: --default_pool=nope: no such --egress_pool"),
            (["--sender_pool=example.org=nope"],
             "ternd: config: --sender_pool=example.org=nope: unknown pool 'nope' (no "
             "--egress_pool of that name)"),
            (["--pool_header=X Pool"],
             "ternd: config: --pool_header=X Pool: not a header field name (printable ASCII "
             "without ':', at most 64)"),
            # TEST-NET-1 (RFC 5737) is never an address of this host.
            (["--egress_source=far=192.0.2.1"],
             "ternd: config: --egress_source=far=192.0.2.1: egress source far (192.0.2.1): "
             "address not on this host (EADDRNOTAVAIL)"),
        ]
        for extra, line in cases:
            with self.subTest(extra=extra):
                self.assertProblem(GOOD + extra, line)

    def test_a_users_pool_must_be_configured(self):
        cert, key = h.make_certificate(self.dir, name="egress")
        users = os.path.join(self.dir, "users")
        done = h.run_tool([h.TERNCTL, "passwd", "news", f"--users_file={users}"],
                          input_bytes=b"news-secret\n")
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        with open(users) as f:
            line = f.read().strip()
        tls = [f"--tls_cert={cert}", f"--tls_key={key}", f"--auth_users_file={users}"]
        for pool, problem in (("bulk", None), ("nope", "pool=nope is no --egress_pool")):
            with open(users, "w") as f:
                f.write(f"{line}:@news.example.com,pool={pool}\n")
            if problem is None:
                rc, err = self.check(*GOOD, *tls)
                self.assertEqual(rc, 0, "\n".join(err))
            else:
                self.assertProblem(GOOD + tls,
                                   f"ternd: config: --auth_users_file={users}: {problem}")

    def test_all_weights_zero_is_a_warning(self):
        rc, err = self.check(*GOOD, "--egress_pool=drained=ip2:0,ip3:0")
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertIn("ternd: warning: --egress_pool: every source of pool 'drained' has "
                      "weight 0: its mail waits until one is raised", err)

    def test_ternd_refuses_to_start_with_an_unbindable_source(self):
        self.assertTerndRefuses(
            GOOD + ["--egress_source=far=192.0.2.1", "--deliver=false"],
            "egress source far (192.0.2.1): address not on this host (EADDRNOTAVAIL)",
            self.spool)


class PoolHeaderTest(h.TerndTestCase):
    def start_relay(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1s",
                             *GOOD, deliver=True)
        return sink, d

    def test_pool_header_is_removed_and_the_rest_arrives_byte_identical(self):
        sink, d = self.start_relay()
        rest = (b"Subject: egress\r\nMessage-ID: <egress-1@client.test>\r\n"
                b"From: a@client.test\r\n\r\nhello\r\n"
                b"X-Tern-Pool: bulk (in the body: not a header, kept)\r\n")
        # Folded, among other fields, and twice: every occurrence goes.
        body = (b"X-Tern-Pool: bulk\r\n" + rest.split(b"\r\nFrom")[0] +
                b"\r\nx-tern-pool:\r\n\ttrans\r\nFrom" + rest.split(b"\r\nFrom", 1)[1])
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.sendmail(f"sender@{DOMAIN}", [f"rcpt@{DOMAIN}"], body)
        (m,) = sink.wait_for_messages(1)
        self.assertTrue(m.body.endswith(rest), m.body)
        received = m.body[:-len(rest)]
        self.assertTrue(received.startswith(b"Received: "), received)
        self.assertNotIn(b"tern-pool", received.lower())
        self.assertEqual(m.body.lower().count(b"x-tern-pool"), 1)  # the body's line only

    def test_unknown_pool_is_refused_with_554_5_3_0(self):
        sink, d = self.start_relay()
        body = b"X-Tern-Pool: nope\r\nSubject: refused\r\n\r\nhello\r\n"
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            with self.assertRaises(smtplib.SMTPDataError) as caught:
                s.sendmail(f"sender@{DOMAIN}", [f"rcpt@{DOMAIN}"], body)
            self.assertEqual(caught.exception.smtp_code, 554)
            self.assertEqual(caught.exception.smtp_error,
                             b'5.3.0 unknown egress pool "nope" (X-Tern-Pool)')
            # The session goes on: the next message is taken.
            s.sendmail(f"sender@{DOMAIN}", [f"rcpt@{DOMAIN}"],
                       b"X-Tern-Pool: trans\r\nSubject: taken\r\n\r\nhello\r\n")
        (m,) = sink.wait_for_messages(1)
        self.assertIn(b"Subject: taken", m.body)
        self.assertNotIn(b"X-Tern-Pool", m.body)
        self.assertIn("egress pool", d.log_tail())


if __name__ == "__main__":
    h.main()
