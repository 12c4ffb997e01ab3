"""SIGHUP reloads what an operator edits in the flagfile without dropping anything: routes
(--route, --smarthost), DKIM keys (--dkim_key) and egress sources and pools
(--egress_source, --egress_pool, --default_pool, ...) are read again and used for the mail
scheduled next, an SMTP session open across the signal goes on, and a flagfile that does
not load leaves the running configuration in place (logged). Mail goes to recording sinks
on loopback, which see each connection's source address and EHLO name.
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
        reload("SIGHUP: routes, DKIM keys and bounce rules not reloaded, the current ones stay: "
               "--route")
        send("three")
        wait_for(lambda: len(second.messages()) == 2, scaled(30), what="the third message")
        self.assertEqual(second.messages()[1].rcpt_tos, [f"three@{DOMAIN}"])
        self.assertTrue(d.running())


    def flagfile(self, workdir):
        path = os.path.join(workdir, "ternd.flags")

        def write(*lines):
            with open(path + ".tmp", "w") as f:
                f.write("# edited by the operator\n" + "".join(l + "\n" for l in lines))
            os.rename(path + ".tmp", path)
        return path, write

    @staticmethod
    def reload(d, expect):
        """SIGHUP, then waits until the log has one more line saying `expect`."""
        before = d.log().count(expect)
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: d.log().count(expect) > before, scaled(10), what=expect)

    def test_sighup_reloads_egress_sources_and_pools(self):
        sink = self.sink()
        workdir = tempfile.mkdtemp(prefix="tern-reload-")
        flagfile, write_flags = self.flagfile(workdir)
        route = f"--route={DOMAIN}=[127.0.0.1]:{sink.port}"
        # The default pool's source keeps its name and changes its address and EHLO name.
        write_flags(route, "--egress_source=out=127.0.0.2@first.reload.test",
                    "--egress_pool=bulk=out", "--default_pool=bulk")
        d = self.start_ternd(f"--flagfile={flagfile}", workdir=workdir, deliver=True)

        def send(session, tag):
            self.assertQueued(session.send_message(f"a@{DOMAIN}", [f"{tag}@{DOMAIN}"],
                                                   body(tag)))

        def sources():
            return [(m.rcpt_tos[0].split("@")[0], m.peer_ip, m.helo) for m in sink.messages()]

        with d.smtp() as session:
            session.ehlo()
            send(session, "one")
        sink.wait_for_messages(1)
        self.assertEqual(sources(), [("one", "127.0.0.2", "first.reload.test")])

        with d.smtp() as session:  # open across the reload
            session.ehlo()
            write_flags(route, "--egress_source=out=127.0.0.3@second.reload.test",
                        "--egress_pool=bulk=out", "--default_pool=bulk")
            self.reload(d, "SIGHUP: egress: 1 sources, 1 pools (default pool bulk) reloaded")
            send(session, "two")
        sink.wait_for_messages(2)
        self.assertEqual(sources()[1], ("two", "127.0.0.3", "second.reload.test"))

        # A pool naming a source no flag defines: nothing changes, and the log says why.
        write_flags(route, "--egress_source=out=127.0.0.4@third.reload.test",
                    "--egress_pool=bulk=nosuch", "--default_pool=bulk")
        self.reload(d, "SIGHUP: egress sources and pools not reloaded, the current ones stay: "
                       "--egress_pool=bulk=nosuch")
        with d.smtp() as session:
            session.ehlo()
            send(session, "three")
        sink.wait_for_messages(3)
        self.assertEqual(sources()[2], ("three", "127.0.0.3", "second.reload.test"))
        self.assertTrue(d.running())

    def test_shaping_policy_naming_a_removed_source_refuses_both(self):
        sink = self.sink()
        workdir = tempfile.mkdtemp(prefix="tern-reload-")
        flagfile, write_flags = self.flagfile(workdir)
        shaping = os.path.join(workdir, "shaping.toml")
        with open(shaping, "w") as f:
            f.write('[source.ip2]\nmax_message_rate = "100/s"\n')
        route = f"--route={DOMAIN}=[127.0.0.1]:{sink.port}"
        write_flags(route, "--egress_source=ip2=127.0.0.2", "--egress_pool=bulk=ip2",
                    "--default_pool=bulk")
        d = self.start_ternd(f"--flagfile={flagfile}", f"--shaping={shaping}", workdir=workdir,
                             deliver=True)
        # ip2 goes from the flags, the policy still names it: both stay as they are.
        write_flags(route, "--egress_source=ip3=127.0.0.3", "--egress_pool=bulk=ip3",
                    "--default_pool=bulk")
        # The policy file still loads against the sources in force (the old ones).
        self.reload(d, f"SIGHUP: shaping policy {shaping} reloaded")
        log = d.log()
        self.assertIn("SIGHUP: egress sources and pools not reloaded, the current ones stay: "
                      "the shaping policy in force", log)
        self.assertIn("source.ip2", log)
        with d.smtp() as session:
            session.ehlo()
            self.assertQueued(session.send_message(f"a@{DOMAIN}", [f"one@{DOMAIN}"], body("one")))
        [m] = sink.wait_for_messages(1)
        self.assertEqual(m.peer_ip, "127.0.0.2")
        # The policy edited along with the flags: both are taken.
        with open(shaping, "w") as f:
            f.write('[source.ip3]\nmax_message_rate = "100/s"\n')
        self.reload(d, f"SIGHUP: shaping policy {shaping} reloaded")
        self.assertIn("SIGHUP: egress: 1 sources, 1 pools (default pool bulk) reloaded", d.log())
        with d.smtp() as session:
            session.ehlo()
            self.assertQueued(session.send_message(f"a@{DOMAIN}", [f"two@{DOMAIN}"], body("two")))
        sink.wait_for_messages(2)
        self.assertEqual(sink.messages()[1].peer_ip, "127.0.0.3")
        # The admin endpoint knows the sources in force: ip3 now, ip2 no longer.
        suspend = "/suspend?domain=elsewhere.test&duration=60&reason=test&source="
        status, text, _ = d.http("POST", suspend + "ip2")
        self.assertEqual(status, 400, text)
        self.assertIn("'ip2' is no --egress_source", text)
        status, text, _ = d.http("POST", suspend + "ip3")
        self.assertEqual(status, 200, text)


if __name__ == "__main__":
    ternd_harness.main()
