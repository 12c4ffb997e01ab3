"""DKIM signing end to end: ternd signs what it relays (--dkim_key, RSA 2048 and Ed25519) and
the recording sink receives it; an independent verifier (dkimpy, Debian's python3-dkim)
checks every signature against the public key published as a TXT record by dnsmasq, for
plain, 8-bit, long-line and dot-leading bodies; a changed body fails the check; mail from
other domains is not signed; bad --dkim_key values are refused at start."""

import base64
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile

import dkim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402
from dnsmasq_server import DnsmasqServer  # noqa: E402
from recording_sink import RecordingSink  # noqa: E402

ROUTED = "dest.test"


def openssl(*args, input_bytes=None):
    done = subprocess.run(["openssl", *args], input=input_bytes, capture_output=True,
                          timeout=h.scaled(60))
    if done.returncode != 0:
        raise AssertionError(f"openssl {args}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def dns_strings(text, size=250):
    return [text[i:i + size] for i in range(0, len(text), size)]


class DkimTest(h.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-dkim-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.rsa_key = os.path.join(self.dir, "rsa.pem")
        self.ed_key = os.path.join(self.dir, "ed.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", self.rsa_key)
        openssl("genpkey", "-algorithm", "ed25519", "-out", self.ed_key)
        rsa_public = base64.b64encode(openssl("pkey", "-in", self.rsa_key, "-pubout",
                                              "-outform", "DER")).decode()
        # RFC 8463 §4: the raw 32-byte key, the end of the DER SubjectPublicKeyInfo.
        ed_public = base64.b64encode(openssl("pkey", "-in", self.ed_key, "-pubout",
                                             "-outform", "DER")[-32:]).decode()
        self.dns = DnsmasqServer(txt_records=[
            ("s1._domainkey.rsa.test", dns_strings(f"v=DKIM1; k=rsa; p={rsa_public}")),
            ("s2._domainkey.ed.test", dns_strings(f"v=DKIM1; k=ed25519; p={ed_public}")),
        ]).start()
        self.addCleanup(self.dns.cleanup)
        self.sink = RecordingSink().start()
        self.addCleanup(self.sink.stop)

    def dnsfunc(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        answer = self.dns.query(name.rstrip("."), "TXT")
        records = answer.data("TXT")
        return "".join(records[0]).encode() if records else b""

    def verify(self, message):
        return dkim.verify(message, dnsfunc=self.dnsfunc)

    def start(self, *flags):
        return self.start_ternd(
            f"--route={ROUTED}=[127.0.0.1]:{self.sink.port}", f"--dkim_key=rsa.test:s1:{self.rsa_key}",
            f"--dkim_key=ed.test:s2:{self.ed_key}", "--retry_schedule=1s", *flags, deliver=True)

    def test_signatures_verify_for_every_kind_of_body(self):
        d = self.start()
        bodies = {
            "plain": b"Hello,\r\n\r\nA plain message.\r\n",
            "eightbit": "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u00e9t\u00e9\r\n".encode(),
            "longlines": b"".join(b"%04d " % i + b"y" * 990 + b"\r\n" for i in range(50)),
            "dots": b".leading dot\r\n..two dots\r\n.\r\nand  spaces \t \r\n\r\n\r\n",
        }
        senders = ["alice@rsa.test", "bob@mail.ed.test"]
        sent = 0
        for tag, body in bodies.items():
            for sender in senders:
                message = (f"From: Someone <{sender}>\r\nTo: x@{ROUTED}\r\n"
                           f"Subject: {tag}  test\r\nMessage-ID: <{tag}.{sender}@t>\r\n"
                           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "\r\n").encode() + body
                with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
                    s.sendmail(sender, [f"{tag}@{ROUTED}"], message,
                               mail_options=["BODY=8BITMIME"] if tag == "eightbit" else [])
                sent += 1
        received = self.sink.wait_for_messages(sent, timeout=120)
        self.assertEqual(len(received), sent)
        algorithms = set()
        for m in received:
            self.assertTrue(m.body.startswith(b"DKIM-Signature: v=1; a="), m.body[:200])
            self.assertTrue(self.verify(m.body), m.body[:600])
            algorithms.add(m.body.split(b"a=", 1)[1].split(b";", 1)[0])
            tampered = m.body.replace(b"\r\n\r\n", b"\r\n\r\nX", 1)
            self.assertFalse(self.verify(tampered), "a changed body still verified")
        self.assertEqual(algorithms, {b"rsa-sha256", b"ed25519-sha256"})
        self.assertEqual(d.metrics().total("tern_delivery_dkim_signed_total"), sent)

    def test_other_domains_are_not_signed(self):
        d = self.start()
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.sendmail("carol@other.test", [f"c@{ROUTED}"],
                       b"From: carol@other.test\r\nSubject: x\r\n\r\nbody\r\n")
        [m] = self.sink.wait_for_messages(1)
        self.assertFalse(m.body.startswith(b"DKIM-Signature"), m.body[:200])

    def test_one_read_and_one_signature_for_all_next_hops(self):
        # Recipients at three domains routed to three sinks: three jobs (one per lane) of one
        # attempt, which read the stored message and sign it once (delivery/message_reads.h).
        sinks = [self.sink] + [RecordingSink().start() for _ in range(2)]
        for sink in sinks[1:]:
            self.addCleanup(sink.stop)
        domains = ["one.test", "two.test", "three.test"]
        routes = ",".join(f"{domain}=[127.0.0.1]:{sink.port}" for domain, sink in zip(domains, sinks))
        d = self.start_ternd(f"--route={routes}", f"--dkim_key=rsa.test:s1:{self.rsa_key}",
                             "--retry_schedule=1s", deliver=True)
        message = (b"From: Alice <alice@rsa.test>\r\nTo: many\r\nSubject: three hops\r\n"
                   b"Message-ID: <three.hops@t>\r\n\r\n" + b"a line of the body\r\n" * 200)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.sendmail("alice@rsa.test", [f"r@{domain}" for domain in domains], message)
        received = [sink.wait_for_messages(1)[0] for sink in sinks]
        signatures = set()
        for m in received:
            self.assertTrue(self.verify(m.body), m.body[:600])
            signatures.add(m.body.split(b"\r\n\r\n", 1)[0].split(b"From:", 1)[0])
        self.assertEqual(len(signatures), 1, "each next hop got its own signature")
        metrics = d.metrics()
        self.assertEqual(metrics.total("tern_delivery_dkim_signed_total"), 3)
        self.assertEqual(metrics.total("tern_delivery_message_reads_total"), 1)
        self.assertEqual(metrics.total("tern_delivery_message_reads_shared_total"), 2)

    def test_bad_keys_are_refused_at_start(self):
        for flag, expected in ((f"--dkim_key=rsa.test:{self.rsa_key}", "DOMAIN:SELECTOR:KEYFILE"),
                               ("--dkim_key=rsa.test:s1:/nonexistent.pem", "/nonexistent.pem"),
                               (f"--dkim_key=rsa.test:s1:{self.dir}/none", "none")):
            self.assertTerndRefuses([flag], expected, f"{self.dir}/spool")


if __name__ == "__main__":
    h.main()
