"""A real DNS server for Tern's end-to-end delivery tests: dnsmasq on a loopback port,
answering only the records a test gives it.

    with DnsmasqServer(mx_records=[("example.test", "mx1.example.test", 10)],
                       a_records=[("mx1.example.test", "127.0.0.1")],
                       null_mx=["nomail.test"]) as dns:
        ... start ternd with dns.address ("127.0.0.1:PORT") as its DNS server ...
        reply = dns.query("example.test", "MX")      # a raw-socket query, for checks
        assert reply.rcode == NOERROR and reply.answers[0].data == (10, "mx1.example.test")

dnsmasq runs in the foreground (-k) from a configuration file in a temporary directory,
with no upstream servers (--no-resolv, --no-hosts) and `local=/#/`: every name it has no
record for is NXDOMAIN (a known name without the asked type: NOERROR with no answers),
so no query ever leaves the machine. Queries are logged to dnsmasq.log there (see
queries()). The port is a free one; when dnsmasq cannot bind it (UDP or TCP, e.g. a
parallel test's ephemeral port) it is retried on another, a bounded number of times.

Also here: query(), a minimal DNS client (socket + struct) used by the self-tests.
"""

import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

DNSMASQ = "/usr/sbin/dnsmasq"
TIMEOUT_SCALE = float(os.environ.get("TERN_TIMEOUT_SCALE", "1"))

# Seconds. Bounds, not expectations.
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 5
QUERY_TIMEOUT_S = 2
START_ATTEMPTS = 5

# The name start() asks for until dnsmasq answers (left out of queries()).
READY_PROBE = "dnsmasq-ready.invalid"

# Record types and response codes used here.
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5


def _scaled(seconds):
    return seconds * TIMEOUT_SCALE


def _quote(text):
    """A dnsmasq configuration-file string: double-quoted, with \\ and " escaped (keeps
    commas and spaces inside one TXT string)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DnsmasqServer:
    """dnsmasq serving exactly these records (names without a trailing dot):
      mx_records:   [(domain, exchange, preference)]; exchange "." makes a null MX
      null_mx:      [domain] -> "MX 0 ." (RFC 7505)
      a_records:    [(host, "127.0.0.1")]    aaaa_records: [(host, "::1")]
      txt_records:  [(name, "text")] or [(name, ["string1", "string2"])]
      cname_records: [(alias, target)]
      extra_options: more dnsmasq configuration lines, e.g.
                     "server=/broken.test/127.0.0.1#PORT" (forward one zone elsewhere)
    ttl: the TTL of every answer. Several records for one name add up."""

    def __init__(self, mx_records=(), a_records=(), aaaa_records=(), txt_records=(),
                 null_mx=(), cname_records=(), extra_options=(), ttl=60, binary=DNSMASQ):
        self.binary = binary
        self.ttl = ttl
        self.records = []  # dnsmasq configuration lines
        for domain, exchange, preference in mx_records:
            self.records.append(f"mx-host={domain},{exchange},{int(preference)}")
        for domain in null_mx:
            # dnsmasq writes the exchange "." as the root name: RDATA 00 00 00 (checked by
            # test_recording_sink.py).
            self.records.append(f"mx-host={domain},.,0")
        for host, address in list(a_records) + list(aaaa_records):
            self.records.append(f"host-record={host},{address}")
        for name, text in txt_records:
            strings = [text] if isinstance(text, str) else list(text)
            self.records.append(f"txt-record={name}," + ",".join(_quote(s) for s in strings))
        for alias, target in cname_records:
            self.records.append(f"cname={alias},{target}")
        self.records += list(extra_options)
        self.workdir = None
        self.proc = None
        self.port = None
        self.attempts = 0

    # -- life cycle ------------------------------------------------------------------------

    @property
    def address(self):
        """"127.0.0.1:PORT"."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self):
        return os.path.join(self.workdir, "dnsmasq.log")

    def start(self):
        """Starts dnsmasq and waits until it answers; raises AssertionError if it cannot
        (the message carries its output)."""
        assert self.proc is None, "dnsmasq already started"
        if not os.access(self.binary, os.X_OK):
            raise AssertionError(f"{self.binary} is not installed (apt-get install dnsmasq)")
        self.workdir = tempfile.mkdtemp(prefix="tern-dnsmasq-")
        failures = []
        for self.attempts in range(1, START_ATTEMPTS + 1):
            outcome = self._start_once()
            if outcome is None:
                return self
            failures.append(outcome)
            if "in use" not in outcome:  # only a port collision is worth another port
                break
        config = self._read(os.path.join(self.workdir, "dnsmasq.conf"))
        self.cleanup()
        raise AssertionError("dnsmasq did not start:\n" + "\n---\n".join(failures)
                             + "\n--- its configuration:\n" + config)

    def _config(self):
        lines = [
            f"port={self.port}",
            "listen-address=127.0.0.1",
            "bind-interfaces",      # only 127.0.0.1, so parallel instances can coexist
            "no-resolv",            # no upstream servers from /etc/resolv.conf
            "no-hosts",             # nor names from /etc/hosts
            "no-poll",
            "local=/#/",            # every unknown name: NXDOMAIN, never forwarded
            f"local-ttl={int(self.ttl)}",
            "log-queries",
            f"log-facility={self.log_path}",
            f"pid-file={os.path.join(self.workdir, 'dnsmasq.pid')}",
        ]
        if os.geteuid() == 0:
            lines.append("user=root")  # do not drop to 'nobody' (the files here are root's)
        return "\n".join(lines + self.records) + "\n"

    def _start_once(self):
        """None once dnsmasq answers, else a description of what went wrong."""
        self.port = free_udp_port()
        conf = os.path.join(self.workdir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        stderr_path = os.path.join(self.workdir, "dnsmasq.stderr")
        with open(stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [self.binary, "--keep-in-foreground", f"--conf-file={conf}"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        deadline = time.monotonic() + _scaled(START_TIMEOUT_S)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                return f"port {self.port}: exited with {rc}: {self._read(stderr_path)}"
            try:
                query(self.port, READY_PROBE, "A", timeout=0.2)
                return None
            except (OSError, AssertionError):
                time.sleep(0.02)
        self.stop()
        return f"port {self.port}: no answer within {_scaled(START_TIMEOUT_S):.0f}s"

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL. Returns the exit code (None if not
        running). Idempotent."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=_scaled(STOP_TIMEOUT_S))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_scaled(STOP_TIMEOUT_S))
        return proc.returncode

    def cleanup(self):
        """stop() and remove the temporary directory."""
        self.stop()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- inspection --------------------------------------------------------------------------

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log(self):
        """dnsmasq's log (every query and its answer)."""
        return self._read(self.log_path) if self.workdir else ""

    def queries(self):
        """[(type, name)] of the queries logged so far, e.g. [("MX", "example.test")].
        dnsmasq writes its log asynchronously: poll with a bound when it matters."""
        return [(t, n) for t, n in re.findall(r"query\[(\w+)\] (\S+) from ", self.log())
                if n != READY_PROBE]

    def query(self, name, qtype="A", tcp=False, timeout=QUERY_TIMEOUT_S):
        """query() against this server."""
        return query(self.port, name, qtype, tcp=tcp, timeout=timeout)


def _free_for(kind, port):
    try:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
    except OSError:
        return 0


def free_udp_port():
    """A loopback port free for UDP and TCP at the moment (dnsmasq listens on both), drawn
    below the kernel's ephemeral range (32768 and up by default), where the outgoing
    connections of tests running in parallel take theirs; the kernel's choice otherwise."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if _free_for(socket.SOCK_DGRAM, port) == port and \
                _free_for(socket.SOCK_STREAM, port) == port:
            return port
    return _free_for(socket.SOCK_DGRAM, 0)


# ---------------------------------------------------------------------------------------
# A minimal DNS client, enough to check what the server answers.

class Answer:
    """One answer record. data: A/AAAA -> address text, MX -> (preference, exchange) with
    "." for the root (null MX), TXT -> [str], CNAME/NS/PTR -> name, other -> bytes."""

    def __init__(self, name, rtype, ttl, data, rdata):
        self.name, self.type, self.ttl, self.data = name, rtype, ttl, data
        self.rdata = rdata  # the raw RDATA bytes

    def __repr__(self):
        return f"Answer({self.name} {TYPE_NAMES.get(self.type, self.type)} ttl={self.ttl} " \
               f"{self.data!r})"


class Reply:
    def __init__(self, rcode, flags, answers, authoritative):
        self.rcode = rcode
        self.flags = flags
        self.answers = answers       # [Answer] of the answer section
        self.authoritative = authoritative  # [Answer] of the authority section

    def data(self, rtype=None):
        """The data of the answers (of one type when given), in order."""
        if isinstance(rtype, str):
            rtype = TYPES[rtype]
        return [a.data for a in self.answers if rtype is None or a.type == rtype]

    def __repr__(self):
        return f"Reply(rcode={self.rcode}, answers={self.answers})"


def _encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode("idna") if not label.isascii() else label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def _decode_name(packet, offset):
    """(name, offset after it); follows compression pointers (bounded)."""
    labels = []
    end = None
    for _ in range(128):
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | packet[offset + 1]
            continue
        offset += 1
        if length == 0:
            return (".".join(labels) or "."), (end if end is not None else offset)
        labels.append(packet[offset:offset + length].decode("ascii", "replace"))
        offset += length
    raise AssertionError("DNS name with too many labels or a pointer loop")


def _decode_rdata(packet, rtype, start, length):
    rdata = packet[start:start + length]
    if rtype == TYPES["A"] and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == TYPES["AAAA"] and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype == TYPES["MX"]:
        return struct.unpack(">H", rdata[:2])[0], _decode_name(packet, start + 2)[0]
    if rtype in (TYPES["CNAME"], TYPES["NS"], TYPES["PTR"]):
        return _decode_name(packet, start)[0]
    if rtype == TYPES["TXT"]:
        strings, i = [], 0
        while i < length:
            strings.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
            i += 1 + rdata[i]
        return strings
    return bytes(rdata)


def parse_reply(packet, expected_id=None):
    """Parses a DNS response; AssertionError when it is malformed or not ours."""
    if len(packet) < 12:
        raise AssertionError(f"DNS reply too short: {packet!r}")
    ident, flags, qd, an, ns, _ar = struct.unpack(">HHHHHH", packet[:12])
    if expected_id is not None and ident != expected_id:
        raise AssertionError(f"DNS reply id {ident}, expected {expected_id}")
    if not flags & 0x8000:
        raise AssertionError("DNS packet is not a response")
    offset = 12
    for _ in range(qd):
        _, offset = _decode_name(packet, offset)
        offset += 4
    sections = []
    for count in (an, ns):
        records = []
        for _ in range(count):
            name, offset = _decode_name(packet, offset)
            rtype, _rclass, ttl, length = struct.unpack(">HHIH", packet[offset:offset + 10])
            offset += 10
            records.append(Answer(name, rtype, ttl,
                                  _decode_rdata(packet, rtype, offset, length),
                                  bytes(packet[offset:offset + length])))
            offset += length
        sections.append(records)
    return Reply(flags & 0xF, flags, sections[0], sections[1])


def query(server, name, qtype="A", tcp=False, timeout=QUERY_TIMEOUT_S):
    """Asks `server` (a port on 127.0.0.1, or "host:port") for `name` `qtype` (a name in
    TYPES or a number) over UDP or TCP; returns a Reply. Bounded by `timeout` seconds."""
    if isinstance(server, int):
        host, port = "127.0.0.1", server
    else:
        host, _, port = server.rpartition(":")
        port = int(port)
    rtype = TYPES[qtype.upper()] if isinstance(qtype, str) else int(qtype)
    ident = int.from_bytes(os.urandom(2), "big")
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + _encode_name(name) \
        + struct.pack(">HH", rtype, 1)
    if not tcp:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(packet, (host, port))
            deadline = time.monotonic() + timeout
            while True:
                s.settimeout(max(0.001, deadline - time.monotonic()))
                data = s.recv(65535)
                if len(data) >= 2 and struct.unpack(">H", data[:2])[0] == ident:
                    return parse_reply(data, ident)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(packet)) + packet)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
            chunk = s.recv(65535)
            if not chunk:
                raise AssertionError("DNS server closed the TCP connection early")
            data += chunk
        return parse_reply(data[2:], ident)
