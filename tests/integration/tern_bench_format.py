"""tern-bench's message format, written independently of the C++ code
(tools/tern_bench/checksum.h, bench_message.h, sink_record.h), so that tests can build
checksummed messages and check what `tern-bench sink` records against a second
implementation.

    body = b"hello\\r\\n"
    msg = make_message("run.0.1@tern-bench", body)      # headers + blank line + body
    wire = dot_stuff(msg) + b".\\r\\n"                   # what follows DATA's 354
    assert tb64(body) == int(header_value(msg, "X-Tern-Bench-Checksum"), 16)
"""

import json
import struct

MASK64 = (1 << 64) - 1
TB64_SEED = 0x9E3779B97F4A7C15
TB64_MUL = 0xFF51AFD7ED558CCD
CHECKSUM_HEADER = "X-Tern-Bench-Checksum"


def tb64(data):
    """The "tb64" BodyChecksum of `data` (bytes): little-endian 64-bit words, each mixed as
    h = rotl(h ^ w, 29) * MUL; a last partial word zero-padded; then the length mixed in."""
    h = TB64_SEED
    padded = data + b"\0" * (-len(data) % 8)
    for (word,) in struct.iter_unpack("<Q", padded):
        x = h ^ word
        x = ((x << 29) | (x >> 35)) & MASK64
        h = (x * TB64_MUL) & MASK64
    h = ((h ^ len(data)) * TB64_MUL) & MASK64
    return h ^ (h >> 32)


def tb64_hex(data):
    return f"{tb64(data):016x}"


def make_message(message_id, body, sender="sender@example.com", recipient="rcpt@example.net",
                 checksum=None, extra_headers=()):
    """Header section + blank line + `body` (bytes, CRLF lines). The checksum header holds
    tb64(body) unless `checksum` (an int) overrides it; checksum=False leaves it out."""
    headers = [f"Message-ID: <{message_id}>", f"From: <{sender}>", f"To: <{recipient}>",
               "Subject: tern-bench integration test"] + list(extra_headers)
    if checksum is not False:
        value = tb64(body) if checksum is None else checksum
        headers.append(f"{CHECKSUM_HEADER}: {value:016x}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def body_lines(n, seed=0, dot_every=4):
    """`n` printable CRLF lines; every `dot_every`-th starts with a dot (for stuffing)."""
    lines = []
    for i in range(n):
        text = f"line {seed}.{i} " + "abcdefghij" * ((i + seed) % 7)
        if dot_every and i % dot_every == dot_every - 1:
            text = "." + text
        lines.append(text.encode() + b"\r\n")
    return b"".join(lines)


def dot_stuff(content):
    """RFC 5321 §4.5.2: a line starting with '.' gets another one (lines end with CRLF)."""
    assert content.endswith(b"\r\n"), "content must end with CRLF"
    lines = content.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def split_message(content):
    """(header bytes, body bytes) at the first blank line."""
    head, sep, body = content.partition(b"\r\n\r\n")
    assert sep, "no blank line after the headers"
    return head, body


def read_records(path):
    """The sink's --record lines, parsed; fails on a line that is not one JSON object."""
    records = []
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n"), "record file ends inside a line"
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        record = json.loads(line.decode("utf-8"))
        assert isinstance(record, dict), f"record line {number} is not an object: {line!r}"
        records.append(record)
    return records


RECORD_FIELDS = {"message_id", "sender", "recipients", "bytes", "checksum", "expected",
                 "verified", "reply"}


def check_record(record, content=None):
    """Asserts the fields and types of one record line; with `content` (the unstuffed
    message), that bytes, checksum, expected and verified agree with it."""
    missing = RECORD_FIELDS - set(record)
    assert not missing, f"record without {missing}: {record}"
    assert isinstance(record["recipients"], list)
    assert isinstance(record["bytes"], int)
    assert len(record["checksum"]) == 16 and int(record["checksum"], 16) >= 0
    assert record["expected"] is None or len(record["expected"]) == 16
    assert isinstance(record["verified"], bool)
    assert record["reply"] is None or isinstance(record["reply"], int)
    if content is None:
        return
    _, body = split_message(content)
    assert record["bytes"] == len(content), (record["bytes"], len(content))
    assert record["checksum"] == tb64_hex(body), (record["checksum"], tb64_hex(body))
    assert record["verified"] == (record["expected"] == record["checksum"])
