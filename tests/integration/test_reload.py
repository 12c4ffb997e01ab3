"""SIGHUP reloads what an operator edits in the flagfile without dropping anything: routes
(--route, --smarthost) and DKIM keys (--dkim_key) are read again and used for the mail
scheduled next, an SMTP session open across the signal goes on, and a flagfile that does
not load leaves the running configuration in place (logged). Mail goes to two recording
sinks on loopback.
"""

import os
import signal
import smtplib
import subprocess
import tempfile

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import scaled, wait_for

DOMAIN = "reload.test"


def body(tag):
    return (f"From: a@{DOMAIN}\r\nTo: {tag}@{DOMAIN}\r\nSubject: {tag}\r\n\r\n"
            f"Routed by the flagfile of the moment.\r\n").encode()


class ReloadTest(ternd_harness.TerndTestCase):
    def sink(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        return sink

    def test_sighup_reloads_routes_and_dkim_keys(self):
        first, second = self.sink(), self.sink()
        workdir = tempfile.mkdtemp(prefix="tern-reload-")
        flagfile = os.path.join(workdir, "ternd.flags")
        key = os.path.join(workdir, "s1.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                       capture_output=True)

        def write_flags(*lines):
            with open(flagfile + ".tmp", "w") as f:
                f.write("# edited by the operator\n" + "".join(l + "\n" for l in lines))
            os.rename(flagfile + ".tmp", flagfile)

        write_flags(f"--route={DOMAIN}=[127.0.0.1]:{first.port}")
        d = self.start_ternd(f"--flagfile={flagfile}", workdir=workdir, deliver=True)

        def send(tag):
            with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
                s.sendmail(f"a@{DOMAIN}", [f"{tag}@{DOMAIN}"], body(tag))

        def reload(expect):
            before = d.log().count("SIGHUP:")
            os.kill(d.proc.pid, signal.SIGHUP)
            wait_for(lambda: expect in d.log()[-4000:] and d.log().count("SIGHUP:") > before,
                     scaled(10), what=expect)

        send("one")
        [m] = first.wait_for_messages(1)
        self.assertIsNone(m.header("DKIM-Signature"))

        with d.smtp() as session:  # open across the reload
            session.ehlo()
            write_flags(f"--route={DOMAIN}=[127.0.0.1]:{second.port}",
                        f"--dkim_key={DOMAIN}:s1:{key}")
            reload("SIGHUP: 1 routes and 1 DKIM keys reloaded")
            reply = session.send_message(f"a@{DOMAIN}", [f"two@{DOMAIN}"], body("two"))
            self.assertQueued(reply, "the session open across SIGHUP goes on")
        [m] = second.wait_for_messages(1)
        self.assertEqual(m.rcpt_tos, [f"two@{DOMAIN}"])
        signature = m.header("DKIM-Signature")
        self.assertIsNotNone(signature, "the key added by the reload signs")
        self.assertIn("s=s1", signature.replace(" ", ""))
        self.assertEqual(len(first.messages()), 1)

        # A broken edit: nothing changes, and the log says why.
        write_flags(f"--route={DOMAIN}=[127.0.0.1", f"--dkim_key={DOMAIN}:s1:{key}")
        reload("SIGHUP: routes and DKIM keys not reloaded, the current ones stay: --route")
        send("three")
        wait_for(lambda: len(second.messages()) == 2, scaled(30), what="the third message")
        self.assertEqual(second.messages()[1].rcpt_tos, [f"three@{DOMAIN}"])
        self.assertTrue(d.running())


if __name__ == "__main__":
    ternd_harness.main()
