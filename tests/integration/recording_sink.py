"""A recording SMTP sink for Tern's end-to-end delivery tests.

ternd's outbound relay delivers to it: the sink is a real SMTP server (aiosmtpd) on a
loopback port, running in-process on its own asyncio loop in a background thread. It
records every message exactly as it arrived (envelope, ESMTP parameters, the body bytes
after dot-unstuffing, which connection it came on) and lets each test inject faults:
replies to MAIL / RCPT / the end of DATA, a delay before a reply, a dropped connection
instead of a reply, a refusal at the greeting, and which extensions the EHLO reply
advertises. Each connection record says who connected (peer address, EHLO name) and when,
so tests can check egress source binding, connection counts and arrival times.

    with RecordingSink() as sink:                       # 127.0.0.1, port chosen by the kernel
        sink.reply_to_data("451 4.3.0 try later", times=2)  # the first 2 get 451, then 250
        sink.reply_to_rcpt("550 5.1.1 no such user", recipients=["nobody@example.test"])
        ... point ternd at 127.0.0.1:sink.port ...
        [msg] = sink.wait_for_messages(1, timeout=30)   # AssertionError on the bound
        assert msg.body == expected_bytes and msg.connection == 2
        [dsn] = sink.wait_for_bounces(1)                # messages from the null sender <>
        sink.reply_to_greeting("421 4.7.0 try later")   # every later connection, until
        sink.clear_faults("connect")                    # ... the sink recovers
        [c.peer_ip for c in sink.connections()]         # e.g. "127.0.0.2" (egress source)

Standalone, for bench scripts (SIGTERM writes the counts as JSON to --stats-file):

    python3 tests/integration/recording_sink.py --port 2525 --greeting "421 4.7.0 go away" \
        --stats-file /tmp/sink.json

Every knob and every accessor is thread-safe (one lock; the SMTP side runs on the sink's
loop thread). Waits are bounded and multiplied by $TERN_TIMEOUT_SCALE like the harness's.
Written against aiosmtpd 1.4.3 (Debian 12's python3-aiosmtpd): MAIL, RCPT and EHLO are
re-implemented here because aiosmtpd upper-cases ESMTP parameters and refuses DSN ones.
"""

import asyncio
import collections
import dataclasses
import email
import email.policy
import functools
import os
import threading
import time

from aiosmtpd.smtp import SMTP, Envelope, syntax

TIMEOUT_SCALE = float(os.environ.get("TERN_TIMEOUT_SCALE", "1"))

# Seconds. Bounds, not expectations.
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
WAIT_TIMEOUT_S = 30

# Stages a fault can apply to: the greeting, MAIL, each RCPT, and the end of DATA.
STAGES = ("connect", "mail", "rcpt", "data")

# Bounds on what one connection's command log keeps (it is for debugging).
MAX_LOGGED_COMMANDS = 10000


def _scaled(seconds):
    return seconds * TIMEOUT_SCALE


class _Disconnect:
    def __repr__(self):
        return "DISCONNECT"


# A fault action: drop the connection (no reply at all) instead of replying.
DISCONNECT = _Disconnect()


def _params(options):
    """['BODY=8BITMIME', 'SMTPUTF8'] -> {'BODY': '8BITMIME', 'SMTPUTF8': True} (keys
    upper-cased, values as sent)."""
    out = {}
    for option in options:
        key, eq, value = option.partition("=")
        out[key.upper()] = value if eq else True
    return out


# ---------------------------------------------------------------------------------------
# What the sink records.

@dataclasses.dataclass
class Message:
    """One mail transaction whose body the sink received (the end of DATA was reached)."""

    mail_from: str           # "" for the null sender <>
    rcpt_tos: list           # accepted recipients, in RCPT order
    body: bytes              # exactly the bytes received, after dot-unstuffing
    mail_options: list       # MAIL parameters as sent, e.g. ["BODY=8BITMIME", "ENVID=Ab1"]
    rcpt_options: list       # per accepted recipient: its RCPT parameters as sent
    smtputf8: bool           # MAIL carried SMTPUTF8
    connection: int          # 1-based number of the connection, in accept order
    number_in_connection: int  # 1-based: the n-th end of DATA on that connection
    sequence: int            # 1-based: the n-th end of DATA on the sink
    helo: str                # the name the client gave in EHLO/HELO
    peer: tuple              # the client's (host, port)
    reply: object = None     # the reply the sink chose (None when it disconnected)
    # "accepted" (2xx reply sent), "rejected" (4xx/5xx reply sent), "disconnected" (the
    # sink dropped the connection instead of replying), "lost" (the client went away
    # during a reply delay; `reply` is what it would have got).
    outcome: str = "pending"
    received_at: float = 0.0  # time.monotonic() at the end of DATA
    # time.monotonic() when its MAIL command arrived: when the client started it (what a
    # sender's rate limit spaces; the end of DATA adds the body's own timing).
    mail_at: float = 0.0
    tls: str = ""             # the TLS version the message came over ("TLSv1.3"), "" if none
    tls_resumed: bool = False  # that TLS session was resumed (a ticket from an earlier one)
    size: int = 0             # len(body) (also when the sink does not keep bodies)

    @property
    def peer_ip(self):
        """The client's address as the sink saw it, e.g. "127.0.0.2"."""
        return self.peer[0] if self.peer else ""

    @property
    def is_bounce(self):
        """From the null sender: a bounce / DSN."""
        return self.mail_from == ""

    @property
    def mail_params(self):
        """MAIL parameters as a dict: {"BODY": "8BITMIME", "SMTPUTF8": True, ...}."""
        return _params(self.mail_options)

    @property
    def rcpt_params(self):
        """{recipient: {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;x@y"}, ...}."""
        return {r: _params(o) for r, o in zip(self.rcpt_tos, self.rcpt_options)}

    def parsed(self):
        """The body parsed as an email.message.EmailMessage (policy=default)."""
        return email.message_from_bytes(self.body, policy=email.policy.default)

    def header(self, name, default=None):
        return self.parsed().get(name, default)

    def delivery_status(self):
        """For a DSN (multipart/report; report-type=delivery-status): a list of dicts, the
        per-message fields first, then one per recipient ({"final-recipient": ...,
        "action": "failed", "status": "5.1.1", ...}; names lower-cased). [] otherwise."""
        msg = self.parsed()
        for part in msg.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            groups = []
            payload = part.get_payload()
            if isinstance(payload, list):  # the email package parsed the field groups
                for block in payload:
                    groups.append({k.lower(): str(v).strip() for k, v in block.items()})
            else:  # kept as text: blocks separated by blank lines
                for block in str(payload).replace("\r\n", "\n").split("\n\n"):
                    fields = {}
                    for line in block.split("\n"):
                        if ":" in line and not line[:1].isspace():
                            k, _, v = line.partition(":")
                            fields[k.strip().lower()] = v.strip()
                    if fields:
                        groups.append(fields)
            return groups
        return []

    def summary(self):
        return (f"#{self.sequence} conn {self.connection} {self.outcome} "
                f"<{self.mail_from}> -> {self.rcpt_tos} {len(self.body)} bytes, "
                f"reply {self.reply!r}")


@dataclasses.dataclass
class Connection:
    """One accepted TCP connection, whether or not it ever sent mail."""

    number: int              # 1-based, in accept order
    peer: tuple              # the client's (host, port) as the sink saw it
    helo: str = ""           # the name the client gave in EHLO/HELO ("" before one)
    commands: list = dataclasses.field(default_factory=list)  # "MAIL FROM:<a@b> ..." lines
    transactions: int = 0    # ends of DATA on this connection
    messages: int = 0        # of which accepted
    # MAIL commands the client had sent before it got the reply to the previous end of DATA
    # (they were in the sink's input when it answered): pipelined across transactions.
    pipelined_mails: int = 0
    open: bool = True
    opened_at: float = 0.0   # time.monotonic() when the sink accepted it
    closed_at: float = 0.0   # time.monotonic() when it closed (0.0 while open)
    # The reply the sink sent instead of its 220 greeting (then it closed the connection),
    # DISCONNECT when it dropped the connection instead, None for the normal greeting.
    greeting_reply: object = None

    @property
    def peer_ip(self):
        """The client's address as the sink saw it, e.g. "127.0.0.2"."""
        return self.peer[0] if self.peer else ""

    @property
    def refused_at_greeting(self):
        """The sink answered the connection with a fault instead of its greeting."""
        return self.greeting_reply is not None


@dataclasses.dataclass
class Event:
    """What a policy callable (and a rule's `match` callable) is shown."""

    stage: str               # one of STAGES
    connection: int
    peer: tuple = ()          # the client's (host, port)
    helo: str = ""
    mail_from: object = None  # None before MAIL; "" for the null sender
    mail_options: list = dataclasses.field(default_factory=list)
    rcpt_tos: list = dataclasses.field(default_factory=list)  # accepted so far
    recipient: object = None  # rcpt: the address being offered
    rcpt_options: list = dataclasses.field(default_factory=list)  # rcpt: its parameters
    body: object = None       # data: the body bytes
    sequence: int = 0         # data: 1-based end-of-DATA number on the sink
    pipelined: bool = False   # mail: sent before the reply to the previous end of DATA


@dataclasses.dataclass
class _Rule:
    stage: str
    reply: object            # None (the normal reply), a reply line, or DISCONNECT
    times: object            # uses left; None: unlimited
    match: object            # None, a set of lower-cased addresses, or a callable(Event)
    delay: float
    until: object = None     # time.monotonic() after which it no longer applies; None: never

    def expired(self, now):
        return self.times == 0 or (self.until is not None and now >= self.until)

    def matches(self, event):
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(event))
        if event.stage == "mail":
            candidates = [event.mail_from]
        elif event.stage == "rcpt":
            candidates = [event.recipient]
        elif event.stage == "data":
            candidates = event.rcpt_tos
        else:
            candidates = []
        return any((c or "").lower() in self.match for c in candidates)


# ---------------------------------------------------------------------------------------
# The SMTP side (runs on the sink's loop thread).

class _Handler:
    """aiosmtpd handler hooks: only the end of DATA, which the SMTP class below serves."""

    async def handle_DATA(self, server, session, envelope):
        return await server.end_of_data(envelope)


class _SinkEnvelope(Envelope):
    def __init__(self):
        super().__init__()
        self.rcpt_option_lists = []  # per accepted recipient


class _SinkSMTP(SMTP):
    """aiosmtpd's SMTP with the sink's EHLO, MAIL and RCPT (parameters kept as sent, DSN
    parameters accepted when advertised) and fault injection at every stage."""

    def __init__(self, sink):
        self.line_length_limit = sink._line_length_limit  # read by SMTP.__init__
        super().__init__(_Handler(), hostname=sink.hostname, ident="Tern recording sink",
                         decode_data=False, data_size_limit=None, enable_SMTPUTF8=False,
                         timeout=sink._idle_timeout, loop=sink._loop,
                         tls_context=sink._tls_context)
        # Per connection (aiosmtpd's default is a class-level dict that grows).
        self.command_size_limits = collections.defaultdict(lambda: 4096)
        self.command_size_limit = 4096
        self.sink = sink
        self.conn = None        # Connection, set in connection_made
        self.advertised = None  # what the last EHLO advertised
        # Input was waiting when the last end of DATA was answered: the next MAIL came
        # pipelined behind it.
        self._input_behind_data = False
        self._smtp_methods = {verb: self._logged(verb, method)
                              for verb, method in self._smtp_methods.items()}

    def _logged(self, verb, method):
        @functools.wraps(method)  # keeps the @syntax attributes HELP reads
        async def logged(arg):
            self.sink._log_command(self.conn, verb if arg is None else f"{verb} {arg}")
            return await method(arg)
        return logged

    def _create_envelope(self):
        return _SinkEnvelope()

    # -- connection life cycle ----------------------------------------------------------

    def connection_made(self, transport):
        # Called again, with the TLS transport, once a STARTTLS handshake completes.
        if self.conn is None:
            self.conn = self.sink._connection_opened(self, transport.get_extra_info("peername"))
        super().connection_made(transport)

    def connection_lost(self, error):
        self.sink._connection_closed(self)
        super().connection_lost(error)

    async def _handle_client(self):
        event = self._event("connect")
        reply, delay = self.sink._decide(event)
        if reply is not None:
            self.sink._set_greeting_reply(self.conn, reply)
        if delay:
            await asyncio.sleep(delay)  # cancelled if the client goes away meanwhile
        if reply is DISCONNECT:
            await self._drop()
        if reply is not None:  # a fault instead of the greeting: say it and hang up
            await self.push(reply)
            self.transport.close()
            return
        await super()._handle_client()

    def _event(self, stage, **fields):
        """An Event for `stage` from the session's state; `fields` override it."""
        envelope = self.envelope
        state = dict(helo=(self.session.host_name or "") if self.session else "",
                     mail_from=envelope.mail_from if envelope else None,
                     mail_options=list(envelope.mail_options) if envelope else [],
                     rcpt_tos=list(envelope.rcpt_tos) if envelope else [])
        state.update(fields)
        return Event(stage=stage, connection=self.conn.number, peer=self.conn.peer, **state)

    async def _apply(self, event):
        """Runs the sink's fault decision for `event`: waits its delay, drops the
        connection for DISCONNECT (never returns then), else returns the reply to send
        (None: the normal one)."""
        reply, delay = self.sink._decide(event)
        if delay:
            await asyncio.sleep(delay)  # cancelled if the client goes away meanwhile
        if reply is DISCONNECT:
            await self._drop()
        return reply

    async def _drop(self):
        """Closes the connection without a reply (abort: nothing buffered is sent) and
        waits for connection_lost to cancel this session's task."""
        self.transport.abort()
        await self.loop.create_future()

    # -- commands -------------------------------------------------------------------------

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname):
        if not hostname:
            await self.push("501 5.5.4 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        self.sink._set_helo(self.conn, hostname)
        adv = self.advertised = self.sink._advertisement()
        self.enable_SMTPUTF8 = adv["smtputf8"]
        self.data_size_limit = adv["size"] or None
        lines = [self.hostname]
        if adv["pipelining"]:
            lines.append("PIPELINING")
        if adv["size"] is not None:
            lines.append(f"SIZE {adv['size']}")
        if adv["eightbitmime"]:
            lines.append("8BITMIME")
        if adv["smtputf8"]:
            lines.append("SMTPUTF8")
        if adv["dsn"]:
            lines.append("DSN")
        if self.tls_context is not None and self._tls_protocol is None:
            lines.append("STARTTLS")
        lines.append("HELP")
        for line in lines[:-1]:
            await self.push("250-" + line)
        await self.push("250 " + lines[-1])

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname):
        self.advertised = None
        await super().smtp_HELO(hostname)
        if self.session.host_name:
            self.sink._set_helo(self.conn, self.session.host_name)

    def _check_params(self, options, allowed):
        """None when every parameter is allowed, else the error reply. `allowed` maps an
        upper-case keyword to a validator(value or None) returning None or a reply."""
        seen = set()
        for option in options:
            key, eq, value = option.partition("=")
            key = key.upper()
            if not key or not key.replace("-", "").isalnum() or (eq and not value):
                return f"501 5.5.4 Syntax error in parameter {option!r}"
            if key in seen:
                return f"501 5.5.4 Duplicate parameter {key}"
            seen.add(key)
            if key not in allowed:
                return f"555 5.5.4 Parameter {key} not supported"
            error = allowed[key](value if eq else None)
            if error:
                return error
        return None

    def _mail_params_allowed(self):
        adv = self.advertised or {}

        def size(value):
            if value is None or not value.isdigit():
                return "501 5.5.4 SIZE needs a number"
            if adv.get("size") and int(value) > adv["size"]:
                return "552 5.3.4 Message size exceeds fixed maximum message size"
            return None

        allowed = {"SIZE": size,
                   "BODY": lambda v: None if (v or "").upper() == "7BIT"
                   else "555 5.5.4 BODY must be 7BIT here"}
        if adv.get("eightbitmime"):
            allowed["BODY"] = lambda v: None if (v or "").upper() in ("7BIT", "8BITMIME") \
                else "501 5.5.4 BODY must be 7BIT or 8BITMIME"
        if adv.get("smtputf8"):
            allowed["SMTPUTF8"] = lambda v: None if v is None \
                else "501 5.5.4 SMTPUTF8 takes no value"
        if adv.get("dsn"):
            allowed["RET"] = lambda v: None if (v or "").upper() in ("FULL", "HDRS") \
                else "501 5.5.4 RET must be FULL or HDRS"
            allowed["ENVID"] = lambda v: None if v else "501 5.5.4 ENVID needs a value"
        return allowed

    def _rcpt_params_allowed(self):
        adv = self.advertised or {}
        allowed = {}
        if adv.get("dsn"):
            def notify(value):
                words = (value or "").upper().split(",")
                if words == ["NEVER"] or (words and set(words) <= {"SUCCESS", "FAILURE",
                                                                  "DELAY"}):
                    return None
                return "501 5.5.4 NOTIFY must be NEVER or SUCCESS,FAILURE,DELAY"
            allowed["NOTIFY"] = notify
            allowed["ORCPT"] = lambda v: None if v and ";" in v \
                else "501 5.5.4 ORCPT must be addr-type;xtext"
        return allowed

    def _parse_path(self, keyword, arg):
        """(address, options) of 'FROM:<a@b> P=V ...', or (None, reply) on an error."""
        usage = f"501 5.5.4 Syntax: {'MAIL FROM' if keyword == 'FROM:' else 'RCPT TO'}:" \
                "<address> [parameters]"
        if arg is None:
            return None, usage
        arg = self._strip_command_keyword(keyword, arg)
        if arg is None:
            return None, usage
        address, rest = self._getaddr(arg)
        if address is None:
            return None, "553 5.1.3 Malformed address"
        if not address:
            return None, usage
        options = rest.split()
        if options and not self.session.extended_smtp:
            return None, usage
        return address, options

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg):
        self._mail_at = time.monotonic()
        if await self.check_helo_needed():
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Nested MAIL command")
            return
        address, options = self._parse_path("FROM:", arg)
        if address is None:
            await self.push(options)
            return
        error = self._check_params(options, self._mail_params_allowed())
        if error:
            await self.push(error)
            return
        if address == "<>":
            address = ""
        pipelined, self._input_behind_data = self._input_behind_data, False
        if pipelined:
            self.sink._note_pipelined_mail(self.conn)
        reply = await self._apply(self._event("mail", mail_from=address,
                                              mail_options=list(options),
                                              pipelined=pipelined))
        if reply is None:
            self.envelope.mail_from = address
            self.envelope.mail_options = list(options)
            self.envelope.smtp_utf8 = "SMTPUTF8" in _params(options)
            reply = "250 2.1.0 Ok"
        await self.push(reply)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed():
            return
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Need MAIL command")
            return
        address, options = self._parse_path("TO:", arg)
        if address is None:
            await self.push(options)
            return
        error = self._check_params(options, self._rcpt_params_allowed())
        if error:
            await self.push(error)
            return
        reply = await self._apply(self._event("rcpt", recipient=address,
                                              rcpt_options=list(options)))
        if reply is None:
            self.envelope.rcpt_tos.append(address)
            self.envelope.rcpt_options.extend(options)
            self.envelope.rcpt_option_lists.append(list(options))
            reply = "250 2.1.5 Ok"
        await self.push(reply)

    async def end_of_data(self, envelope):
        """The body is in (aiosmtpd has removed the dot-stuffing); returns the reply."""
        message = self.sink._begin_transaction(self, envelope)
        event = self._event("data", body=message.body, sequence=message.sequence)
        reply, delay = self.sink._decide(event)
        if reply is None:
            reply = f"250 2.0.0 Ok: queued as SINK{message.sequence:06d}"
        try:
            if delay:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:  # the client went away during the delay
            self.sink._finish_transaction(self.conn, message, reply, "lost")
            raise
        if reply is DISCONNECT:
            self.sink._finish_transaction(self.conn, message, None, "disconnected")
            await self._drop()
        outcome = "accepted" if reply.startswith("2") else "rejected"
        self.sink._finish_transaction(self.conn, message, reply, outcome)
        # Bytes already in the input now were sent before the client saw this reply.
        self._input_behind_data = bool(self._reader._buffer)
        return reply


# ---------------------------------------------------------------------------------------
# The sink.

class RecordingSink:
    """An SMTP server on `host`:`port` (0: chosen by the kernel; see .port) recording what
    it receives. Extensions advertised by EHLO (changeable with advertise()):
      smtputf8, eightbitmime, dsn, pipelining: bool (all True by default)
      size: None (no SIZE) or n (advertise "SIZE n" and refuse bigger messages with 552)
    `tls_context`: an ssl.SSLContext with the server's certificate: STARTTLS is offered
    (aiosmtpd's implementation) and each Message says which TLS version it came over.
    `policy`: optional callable(Event) -> None | reply line | DISCONNECT, asked before the
    rules (see add_rule). `line_length_limit`: longest body line accepted (aiosmtpd's
    default, RFC 5321's 1000 + CRLF + a stuffed dot); longer lines get 500 at the end.
    `host`: any local address, e.g. another loopback one ("127.0.0.5").
    `keep_bodies`: False records b"" as each Message's body (its size stays): for long
    benchmark runs, whose bodies would otherwise all stay in memory."""

    def __init__(self, host="127.0.0.1", port=0, hostname="sink.test", *, smtputf8=True,
                 eightbitmime=True, dsn=True, pipelining=True, size=None, policy=None,
                 line_length_limit=1001, idle_timeout=300, tls_context=None,
                 keep_bodies=True):
        self.host = host
        self._keep_bodies = keep_bodies
        self._tls_context = tls_context  # ssl.SSLContext: STARTTLS offered (aiosmtpd's)
        self.requested_port = port
        self.hostname = hostname
        self.port = None
        self._line_length_limit = line_length_limit
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._adv = {}
        self.advertise(smtputf8=smtputf8, eightbitmime=eightbitmime, dsn=dsn,
                       pipelining=pipelining, size=size)
        self._policy = policy
        self._rules = []
        self._connections = []      # Connection, in accept order
        self._transactions = []     # finished Messages, in completion order
        self._sequence = 0
        self._errors = []           # exceptions raised by policies / match callables
        self._protocols = set()     # open sessions (loop thread only)
        self._loop = None
        self._thread = None
        self._server = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self):
        assert self._thread is None, "sink already started"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="recording-sink",
                                        daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        try:
            future.result(timeout=_scaled(START_TIMEOUT_S))
        except BaseException:
            self.stop()
            raise
        return self

    def _run_loop(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _listen(self):
        self._server = await self._loop.create_server(
            lambda: _SinkSMTP(self), host=self.host, port=self.requested_port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.abort()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_scaled(STOP_TIMEOUT_S))
        if self._server is not None:
            await asyncio.wait_for(self._server.wait_closed(), _scaled(STOP_TIMEOUT_S))

    def stop(self):
        """Closes the listener and every session, stops the loop thread. Idempotent."""
        if self._thread is None:
            return
        try:
            if self._loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
                future.result(timeout=_scaled(STOP_TIMEOUT_S) * 2)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=_scaled(STOP_TIMEOUT_S))
            if self._thread.is_alive():
                raise AssertionError("recording sink's loop thread did not stop")
            self._loop.close()
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        """"127.0.0.1:PORT"."""
        return f"{self.host}:{self.port}"

    # -- configuration ----------------------------------------------------------------------

    def advertise(self, **extensions):
        """Sets what later EHLO replies advertise: smtputf8, eightbitmime, dsn, pipelining
        (bools), size (None or a positive byte count)."""
        known = {"smtputf8", "eightbitmime", "dsn", "pipelining", "size"}
        unknown = set(extensions) - known
        if unknown:
            raise TypeError(f"unknown extensions {sorted(unknown)}")
        with self._lock:
            self._adv.update(extensions)

    @property
    def policy(self):
        return self._policy

    @policy.setter
    def policy(self, fn):
        """callable(Event) -> None (fall through to the rules) | reply line | DISCONNECT."""
        with self._lock:
            self._policy = fn

    def add_rule(self, stage, reply=None, *, times=None, match=None, delay=0.0,
                 duration=None):
        """A fault at `stage` (see STAGES). Rules are tried in the order added; the first
        that matches, has uses left and has not outlived `duration` (seconds from now;
        None: no end) applies: it waits `delay` seconds, then sends
        `reply` (a full reply line, e.g. "451 4.3.0 try later"; None: the normal reply) or,
        for DISCONNECT, drops the connection without a reply. `times`: how many events it
        applies to (None: all). `match`: None (any), an address or list of addresses
        (mail: the sender, "" for <>; rcpt: the recipient; data: any accepted recipient;
        case-insensitive), or a callable(Event) -> bool. A "connect" reply is sent instead
        of the greeting, then the connection is closed."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if reply is not None and reply is not DISCONNECT:
            if len(reply) < 3 or not reply[:3].isdigit() or reply[0] not in "2345":
                raise ValueError(f"not an SMTP reply line: {reply!r}")
        if match is not None and not callable(match):
            match = {match.lower()} if isinstance(match, str) else {m.lower() for m in match}
        until = None if duration is None else time.monotonic() + float(duration)
        with self._lock:
            self._rules.append(_Rule(stage, reply, times, match, float(delay), until))

    def reply_to_connect(self, reply, *, times=None, duration=None):
        """E.g. "421 4.3.2 not now" instead of the greeting (then the connection closes)."""
        self.add_rule("connect", reply, times=times, duration=duration)

    def reply_to_greeting(self, reply, times=None, *, duration=None):
        """A receiver that refuses at the greeting, e.g. reply_to_greeting("421 4.7.0 try
        later"): each of the next `times` connections (None: every one, until
        clear_faults("connect") or `duration` seconds) gets that reply instead of the 220
        greeting, then the sink closes it. Connection.greeting_reply records it."""
        self.reply_to_connect(reply, times=times, duration=duration)

    def reply_to_mail(self, reply, *, times=None, senders=None, duration=None):
        """The reply to MAIL FROM, e.g. reply_to_mail("451 4.7.650 throttled",
        duration=5): every sender (or only `senders`) for the next `times` MAIL commands
        (None: all) or `duration` seconds (None: until clear_faults)."""
        self.add_rule("mail", reply, times=times, match=senders, duration=duration)

    def reply_to_rcpt(self, reply, recipients=None, *, times=None):
        """E.g. reply_to_rcpt("550 5.1.1 no such user", ["nobody@example.test"])."""
        self.add_rule("rcpt", reply, times=times, match=recipients)

    def reply_to_data(self, reply, *, times=None, delay=0.0, recipients=None,
                      duration=None):
        """The reply at the end of DATA, e.g. reply_to_data("451 4.3.0 try later", times=2)
        for the first two messages, then the normal 250; reply_to_data("421 4.7.28 ...
        unusual rate", times=1) for exactly one message (or the one for `recipients`)."""
        self.add_rule("data", reply, times=times, delay=delay, match=recipients,
                      duration=duration)

    def disconnect_after_data(self, *, times=None, recipients=None):
        """Drop the connection once the body is received, without replying."""
        self.add_rule("data", DISCONNECT, times=times, match=recipients)

    def delay_data(self, seconds, *, times=None):
        """Wait `seconds` after the body before the (normal) reply."""
        self.add_rule("data", None, times=times, delay=seconds)

    def clear_faults(self, stage=None):
        """Removes every rule and the policy; with a `stage` (see STAGES), only that stage's
        rules (e.g. clear_faults("connect"): a refusing receiver recovers)."""
        if stage is not None and stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        with self._lock:
            if stage is None:
                self._rules.clear()
                self._policy = None
            else:
                self._rules = [r for r in self._rules if r.stage != stage]

    # -- what was recorded --------------------------------------------------------------------

    def messages(self):
        """Accepted messages (2xx at the end of DATA), in order."""
        with self._lock:
            return [m for m in self._transactions if m.outcome == "accepted"]

    def transactions(self):
        """Every mail transaction that reached the end of DATA, whatever the sink replied
        (see Message.outcome), in order."""
        with self._lock:
            return list(self._transactions)

    def bounces(self):
        """Accepted messages from the null sender <> (bounces, DSNs)."""
        return [m for m in self.messages() if m.is_bounce]

    def connections(self):
        """Copies of every Connection accepted so far (those that never sent mail and those
        refused at the greeting included), in accept order: number, peer / peer_ip, helo,
        opened_at, closed_at, greeting_reply, commands, transactions, messages, open."""
        with self._lock:
            return [dataclasses.replace(c, commands=list(c.commands))
                    for c in self._connections]

    def connection_log(self):
        """The same as connections() (its older name)."""
        return self.connections()

    def connection_count(self):
        """How many connections were accepted so far."""
        with self._lock:
            return len(self._connections)

    def stats(self):
        """Counts as a dict (what the standalone sink writes to --stats-file):
        connections, refused_at_greeting, transactions, messages (accepted), rejected,
        and connections per peer address."""
        with self._lock:
            peers = collections.Counter(c.peer_ip for c in self._connections)
            return {
                "connections": len(self._connections),
                "refused_at_greeting": sum(1 for c in self._connections
                                           if c.greeting_reply is not None),
                "transactions": len(self._transactions),
                "messages": sum(1 for m in self._transactions if m.outcome == "accepted"),
                "rejected": sum(1 for m in self._transactions if m.outcome == "rejected"),
                "connections_per_peer": dict(sorted(peers.items())),
            }

    def messages_per_connection(self):
        """{connection number: accepted messages}, every connection included."""
        with self._lock:
            return {c.number: c.messages for c in self._connections}

    def errors(self):
        """Exceptions raised by a policy or a match callable (the client got 451)."""
        with self._lock:
            return list(self._errors)

    # -- bounded waits --------------------------------------------------------------------------

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + _scaled(timeout)
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.5))
            detail = "\n  ".join(m.summary() for m in self._transactions[-20:]) or "(none)"
            raise AssertionError(
                f"recording sink: timed out after {_scaled(timeout):.0f}s waiting for {what};"
                f" {len(self._connections)} connection(s), transactions:\n  {detail}"
                + (f"\n  policy errors: {self._errors!r}" if self._errors else ""))

    def wait_for_messages(self, n, timeout=WAIT_TIMEOUT_S):
        """Waits until at least n messages were accepted; returns all accepted so far."""
        def ready():
            accepted = [m for m in self._transactions if m.outcome == "accepted"]
            return accepted if len(accepted) >= n else None
        return self._wait(ready, timeout, f"{n} accepted message(s)")

    def wait_for_transactions(self, n, timeout=WAIT_TIMEOUT_S):
        """Waits until at least n transactions reached the end of DATA (any outcome)."""
        return self._wait(lambda: list(self._transactions)
                          if len(self._transactions) >= n else None,
                          timeout, f"{n} transaction(s)")

    def wait_for_bounces(self, n, timeout=WAIT_TIMEOUT_S):
        """Waits until at least n messages from <> were accepted; returns them."""
        def ready():
            found = [m for m in self._transactions if m.outcome == "accepted" and m.is_bounce]
            return found if len(found) >= n else None
        return self._wait(ready, timeout, f"{n} bounce(s) from <>")

    def wait_for_connections(self, n, timeout=WAIT_TIMEOUT_S):
        """Waits until at least n connections were accepted; returns the count."""
        return self._wait(lambda: len(self._connections) if len(self._connections) >= n
                          else None, timeout, f"{n} connection(s)")

    # -- called from the loop thread ------------------------------------------------------------

    def _advertisement(self):
        with self._lock:
            return dict(self._adv)

    def _decide(self, event):
        """(reply or None or DISCONNECT, delay) for `event`: the policy, then the rules."""
        with self._lock:
            policy = self._policy
        try:
            if policy is not None:
                reply = policy(event)
                if reply is not None:
                    return reply, 0.0
            now = time.monotonic()
            with self._lock:
                for rule in self._rules:
                    if rule.stage != event.stage or rule.expired(now):
                        continue
                    if not rule.matches(event):
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.reply, rule.delay
        except Exception as e:  # a bug in a test's callable: make it visible
            with self._changed:
                self._errors.append(e)
                self._changed.notify_all()
            return f"451 4.3.0 sink policy error: {type(e).__name__}", 0.0
        return None, 0.0

    def _connection_opened(self, protocol, peer):
        with self._changed:
            conn = Connection(number=len(self._connections) + 1, peer=tuple(peer or ()),
                              opened_at=time.monotonic())
            self._connections.append(conn)
            self._protocols.add(protocol)
            self._changed.notify_all()
            return conn

    def _connection_closed(self, protocol):
        with self._changed:
            self._protocols.discard(protocol)
            if protocol.conn is not None and protocol.conn.open:
                protocol.conn.open = False
                protocol.conn.closed_at = time.monotonic()
            self._changed.notify_all()

    def _set_greeting_reply(self, conn, reply):
        with self._lock:
            conn.greeting_reply = reply

    def _set_helo(self, conn, name):
        with self._lock:
            conn.helo = name

    def _note_pipelined_mail(self, conn):
        with self._lock:
            conn.pipelined_mails += 1

    def _log_command(self, conn, line):
        with self._lock:
            if len(conn.commands) < MAX_LOGGED_COMMANDS:
                conn.commands.append(line)

    def _begin_transaction(self, protocol, envelope):
        tls = ""
        resumed = False
        if protocol._tls_protocol is not None:
            ssl_object = protocol.transport.get_extra_info("ssl_object")
            tls = ssl_object.version() if ssl_object is not None else "?"
            resumed = bool(ssl_object is not None and ssl_object.session_reused)
        with self._lock:
            self._sequence += 1
            conn = protocol.conn
            conn.transactions += 1
            body = bytes(envelope.original_content)
            return Message(
                mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                body=body if self._keep_bodies else b"", size=len(body),
                mail_options=list(envelope.mail_options),
                rcpt_options=[list(o) for o in envelope.rcpt_option_lists],
                smtputf8=bool(envelope.smtp_utf8), connection=conn.number,
                number_in_connection=conn.transactions, sequence=self._sequence,
                helo=conn.helo, peer=conn.peer, received_at=time.monotonic(),
                mail_at=getattr(protocol, "_mail_at", 0.0), tls=tls,
                tls_resumed=resumed)

    def _finish_transaction(self, conn, message, reply, outcome):
        with self._changed:
            message.reply = reply
            message.outcome = outcome
            if outcome == "accepted":
                conn.messages += 1
            self._transactions.append(message)
            self._changed.notify_all()


# ---------------------------------------------------------------------------------------
# Standalone: one sink process for bench scripts.

def _write_json_atomically(path, value):
    import json
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(value, f, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    """Runs one sink until SIGTERM or SIGINT, then writes sink.stats() (JSON) to
    --stats-file and exits 0. Prints "listening HOST:PORT" once it accepts connections.
    Bodies are not kept (only their sizes)."""
    import argparse
    import signal
    import sys
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0: chosen by the kernel")
    parser.add_argument("--hostname", default="sink.test", help="name in greeting and EHLO")
    parser.add_argument("--greeting", metavar="REPLY",
                        help='refuse every connection with this reply instead of the 220 '
                        'greeting, e.g. "421 4.7.0 go away"')
    parser.add_argument("--mail-reply", metavar="REPLY", help="the reply to every MAIL FROM")
    parser.add_argument("--data-reply", metavar="REPLY",
                        help="the reply at the end of every DATA")
    parser.add_argument("--stats-file", metavar="FILE",
                        help="where to write the counts (JSON) on SIGTERM / SIGINT")
    args = parser.parse_args(argv)
    sink = RecordingSink(args.host, args.port, args.hostname, keep_bodies=False)
    try:
        if args.greeting:
            sink.reply_to_greeting(args.greeting)
        if args.mail_reply:
            sink.reply_to_mail(args.mail_reply)
        if args.data_reply:
            sink.reply_to_data(args.data_reply)
    except ValueError as e:
        parser.error(str(e))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sink.start()
    try:
        print(f"listening {sink.host}:{sink.port}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        stats = sink.stats()
        sink.stop()
        if args.stats_file:
            _write_json_atomically(args.stats_file, stats)
        sys.stderr.write(f"recording_sink: {stats['connections']} connection(s), "
                         f"{stats['messages']} message(s) accepted\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
