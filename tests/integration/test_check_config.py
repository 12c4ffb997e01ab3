"""`ternd --check_config`: a good configuration (TLS, users file, DKIM key, routes, --user)
exits 0 with a one-line summary and creates nothing; each bad one exits 1 with the exact
line naming the flag: a missing certificate, a key of another certificate, an expired
certificate (python3-cryptography), a bad DKIM key, a malformed users line (its number), a
port held by another program, a privileged port for an unprivileged user, a bad route, a
spool that cannot be created, an unknown --user; several at once are all reported; a ternd
running on the same spool and ports is not a problem (an info line names its pid) and is
left undisturbed."""
import datetime
import os
import pwd
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
except ImportError:  # the expired-certificate case is skipped, saying why
    x509 = None


def make_expired_certificate(directory):
    """A self-signed EC certificate valid from 10 days ago until yesterday: (cert, key,
    notAfter as ternd prints it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired.test")])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    not_after = now - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, "expired.crt")
    key_path = os.path.join(directory, "expired.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path, not_after.strftime("%Y-%m-%d %H:%M:%S UTC")


def listing(directory):
    """Every path under `directory`, to show that nothing was created."""
    out = set()
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            out.add(os.path.relpath(os.path.join(root, name), directory))
    return out


class CheckConfigTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-it-check-")
        os.chmod(self.dir, 0o755)  # an unprivileged user must reach the files in it
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.spool = os.path.join(self.dir, "spool")
        self.delivery_log = os.path.join(self.dir, "log", "delivery.jsonl")
        self.cert, self.key = h.make_certificate(self.dir, name="a")
        self.users = os.path.join(self.dir, "users")
        done = h.run_tool([h.TERNCTL, "passwd", "alice", f"--users_file={self.users}"],
                          input_bytes=b"alice-secret\n")
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        self.dkim_key = os.path.join(self.dir, "dkim.pem")
        done = h.run_tool(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.dkim_key])
        self.assertEqual(done.returncode, 0, done.stderr.decode())

    def check(self, *flags, spool=None, run_as=None):
        """ternd --check_config with a complete, good configuration and then `flags` (a
        later flag wins). Returns (exit code, stdout, stderr lines)."""
        args = [h.TERND, "--check_config", "--listen=127.0.0.1:0",
                "--submission_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                f"--spool_dir={spool or self.spool}", f"--delivery_log={self.delivery_log}",
                f"--tls_cert={self.cert}", f"--tls_key={self.key}",
                f"--auth_users_file={self.users}", f"--dkim_key=example.com:s1:{self.dkim_key}",
                "--route=example.net=[127.0.0.1]:2526", "--dns_servers=127.0.0.1:53",
                "--shards=1"]
        if os.geteuid() == 0:
            args.append("--user=nobody")
        args += list(flags)
        if run_as is not None:
            user = pwd.getpwnam(run_as)
            args = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                    "--clear-groups", "--"] + args
        done = h.run_tool(args)
        return (done.returncode, done.stdout.decode(errors="replace"),
                done.stderr.decode(errors="replace").splitlines())

    def assertProblems(self, result, *lines, count=None):
        """Exit 1, each of `lines` printed exactly (a line ending in '...' is a prefix), and
        the count of problems."""
        rc, out, err = result
        self.assertEqual(rc, 1, "\n".join(err))
        self.assertEqual(out, "")
        for line in lines:
            if line.endswith("..."):
                found = [e for e in err if e.startswith(line[:-3])]
            else:
                found = [e for e in err if e == line]
            self.assertEqual(len(found), 1, f"{line!r} not once in:\n" + "\n".join(err))
        problems = [e for e in err if e.startswith("ternd: config: ")]
        self.assertEqual(err[-1], f"ternd: {len(problems)} problem(s) found")
        if count is not None:
            self.assertEqual(len(problems), count, "\n".join(err))
        return err

    def test_a_good_configuration_exits_0_and_creates_nothing(self):
        before = listing(self.dir)
        self.assertFalse(os.path.exists(self.spool))
        rc, out, err = self.check()
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertEqual(
            out, "ternd: configuration OK (2 listeners, admin 127.0.0.1:0, 1 route, MX delivery, "
            f"1 DKIM key, TLS on, AUTH on, 1 shard, spool {self.spool}, segment prefill zero)\n")
        self.assertEqual([e for e in err if e.startswith("ternd: config:")], [])
        self.assertIn(f"ternd: info: --spool_dir={self.spool}: does not exist yet: ternd will "
                      f"create it in {self.dir}", err)
        # The certificate is valid for 2 days: a warning, not a failure.
        self.assertEqual(len([e for e in err if e.startswith(
            f"ternd: warning: --tls_cert={self.cert}: certificate (CN = mx.tern.test) expires in "
            "1 day, on ")]), 1, err)
        self.assertFalse(os.path.exists(self.spool))
        self.assertEqual(listing(self.dir), before)

    def test_a_missing_certificate(self):
        missing = os.path.join(self.dir, "missing.crt")
        self.assertProblems(
            self.check(f"--tls_cert={missing}"),
            f"ternd: config: --tls_cert={missing}: does not exist (No such file or directory)",
            count=1)

    def test_a_key_of_another_certificate(self):
        _, other_key = h.make_certificate(self.dir, name="b")
        self.assertProblems(
            self.check(f"--tls_key={other_key}"),
            f"ternd: config: --tls_key={other_key}: reading private key {other_key} for "
            f"certificate {self.cert}: ...", count=1)
        err = self.check(f"--tls_key={other_key}")[2]
        self.assertIn("key values mismatch", "\n".join(err))

    def test_an_expired_certificate(self):
        if x509 is None:
            self.skipTest("python3-cryptography is not installed: no way to make a certificate "
                          "that expired (OpenSSL 3.0's x509 has no -not_after)")
        cert, key, not_after = make_expired_certificate(self.dir)
        self.assertProblems(
            self.check(f"--tls_cert={cert}", f"--tls_key={key}"),
            f"ternd: config: --tls_cert={cert}: certificate (CN = expired.test) expired on "
            f"{not_after} (notAfter)", count=1)

    def test_a_bad_dkim_key_file(self):
        bad = os.path.join(self.dir, "bad-dkim.pem")
        with open(bad, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
        self.assertProblems(
            self.check(f"--dkim_key=example.com:s1:{bad}"),
            f"ternd: config: --dkim_key=example.com:s1:{bad}: {bad} holds no PEM private key",
            count=1)

    def test_a_malformed_users_line_is_named_by_its_number(self):
        with open(self.users, "a") as f:
            f.write("# a comment\n\nbob\ncarol:not-a-hash\n")
        err = self.assertProblems(
            self.check(),
            f"ternd: config: --auth_users_file: {self.users}:4: want user:hash[:senders]",
            f"ternd: config: --auth_users_file: {self.users}:5: ...", count=2)
        self.assertIn(f"{self.users}:5: ", "\n".join(err))

    def test_a_port_held_by_another_program(self):
        # A plain socket, as most programs bind: no SO_REUSEPORT.
        other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        self.assertProblems(
            self.check(f"--listen=127.0.0.1:{port}"),
            f"ternd: config: --listen=127.0.0.1:{port}: bind 127.0.0.1:{port}: in use by another "
            "program or user (Address already in use)", count=1)

    def test_a_privileged_port_and_an_unwritable_spool_for_an_unprivileged_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the check as nobody")
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            if int(f.read()) <= 25:
                self.skipTest("ip_unprivileged_port_start lets anyone bind port 25")
        nobody = pwd.getpwnam("nobody")
        self.assertProblems(
            # Only files nobody may read: ternctl and openssl write keys and users 0600/0640.
            self.check("--listen=127.0.0.1:25", "--user=", "--delivery_log=", "--tls_cert=",
                       "--tls_key=", "--auth_users_file=", "--dkim_key=", run_as="nobody"),
            "ternd: config: --listen=127.0.0.1:25: bind 127.0.0.1:25: port 25 is privileged: "
            "start ternd as root (with --user) or give it CAP_NET_BIND_SERVICE (Permission "
            "denied)",
            # self.dir is root's (0755): nobody cannot create the spool in it.
            f"ternd: config: --spool_dir={self.spool}: cannot be created: {self.dir} is not "
            f"writable by uid {nobody.pw_uid} (nobody) (Permission denied)", count=2)

    def test_the_same_address_twice_is_refused_by_ternd_too(self):
        held, port = h.free_closed_port()
        held.close()
        spool = tempfile.mkdtemp(prefix="tern-dup-")
        self.addCleanup(shutil.rmtree, spool, True)
        self.assertTerndRefuses([f"--submission_listen=127.0.0.1:{port}",
                                 f"--listen=127.0.0.1:{port}"],
                                f"--submission_listen: 127.0.0.1:{port} is also given to --listen",
                                os.path.join(spool, "spool"))

    def test_a_bad_route(self):
        self.assertProblems(
            self.check("--route=example.net"),
            "ternd: config: --route=example.net: route 'example.net' is not DOMAIN=[HOST]:PORT",
            count=1)

    def test_an_unknown_segment_prefill(self):
        self.assertProblems(
            self.check("--segment_prefill=ones"),
            "ternd: config: --segment_prefill: 'ones' is not zero or fallocate", count=1)

    def test_a_pipeline_depth_out_of_range(self):
        for depth in ("1", "17"):
            self.assertProblems(
                self.check(f"--pipeline_depth={depth}"),
                "ternd: config: --pipeline_depth: must be 2..16", count=1)

    def test_segment_prefill_fallocate_is_shown(self):
        rc, out, err = self.check("--segment_prefill=fallocate")
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertTrue(out.endswith(f"spool {self.spool}, segment prefill fallocate)\n"), out)

    def test_a_spool_that_cannot_be_created(self):
        a_file = os.path.join(self.dir, "file")
        open(a_file, "w").close()
        spool = os.path.join(a_file, "spool")
        self.assertProblems(
            self.check(spool=spool),
            f"ternd: config: --spool_dir={spool}: cannot be created: {a_file} is not a directory",
            count=1)

    def test_an_unknown_user(self):
        self.assertProblems(self.check("--user=no-such-user-tern"),
                            "ternd: config: --user=no-such-user-tern: unknown user", count=1)

    def test_several_problems_are_all_reported(self):
        other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(("127.0.0.1", 0))
        port = other.getsockname()[1]
        free = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        free.bind(("127.0.0.1", 0))
        twice = free.getsockname()[1]  # a port nobody holds, given twice
        free.close()
        missing = os.path.join(self.dir, "missing.crt")
        with open(self.users, "a") as f:
            f.write("bob\n")
        self.assertProblems(
            self.check(f"--tls_cert={missing}", "--route=example.net",
                       "--user=no-such-user-tern", f"--listen=127.0.0.1:{port}",
                       f"--submission_listen=127.0.0.1:{twice}",
                       f"--admin_listen=127.0.0.1:{twice}"),
            f"ternd: config: --tls_cert={missing}: does not exist (No such file or directory)",
            f"ternd: config: --auth_users_file: {self.users}:2: want user:hash[:senders]",
            "ternd: config: --route=example.net: route 'example.net' is not DOMAIN=[HOST]:PORT",
            "ternd: config: --user=no-such-user-tern: unknown user",
            f"ternd: config: --listen=127.0.0.1:{port}: bind 127.0.0.1:{port}: ...",
            f"ternd: config: --admin_listen=127.0.0.1:{twice}: same address as "
            f"--submission_listen=127.0.0.1:{twice}",
            count=6)

    def test_a_running_ternd_on_the_same_spool_and_ports_is_not_a_problem(self):
        d = self.start_ternd()
        with open(os.path.join(d.spool_dir, "ternd.lock")) as f:
            lock_before = f.read()
        rc, out, err = self.check(
            f"--listen=127.0.0.1:{d.smtp_port}", f"--admin_listen=127.0.0.1:{d.admin_port}",
            "--submission_listen=", f"--delivery_log={d.delivery_log}", spool=d.spool_dir)
        self.assertEqual(rc, 0, "\n".join(err))
        self.assertTrue(out.startswith("ternd: configuration OK ("), out)
        self.assertEqual(len([e for e in err if e.startswith(
            f"ternd: info: --spool_dir={d.spool_dir}: spool in use by pid {d.pid} (")]), 1, err)
        # Left alone: still holding its spool (nothing written to the lock), still serving.
        with open(os.path.join(d.spool_dir, "ternd.lock")) as f:
            self.assertEqual(f.read(), lock_before)
        self.assertTrue(d.running())
        for _ in range(4):  # each shard's listener (SO_REUSEPORT spreads them)
            with d.smtp() as c:
                c.ehlo()
        self.assertEqual(d.http_get("/metrics")[0], 200)


if __name__ == "__main__":
    h.main()
