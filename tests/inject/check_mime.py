#!/usr/bin/env python3
"""Checks messages built by inject/ with Python's email package (CTest: inject.check_mime).

For each sample request below, runs the inject_build tool (tests/inject/inject_build_tool.cc),
which writes one message per recipient, and parses each with
email.message_from_bytes(..., policy=email.policy.default): no defect anywhere, the header
fields decode to what the request said, the body parts and attachments decode to the
request's text and bytes, and every line ends with CRLF and has at most 998 octets.

Usage: check_mime.py INJECT_BUILD_BINARY
"""
import base64
import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile

LONG_SUBJECT = "Grüße aus Köln, 日本語のテキスト und noch viel mehr Text " * 6
BINARY = bytes(range(256)) * 40

SAMPLES = [
    {
        "name": "text_only",
        "request": {
            "envelope_sender": "bounces@example.com",
            "recipients": [{"email": "a@example.net", "name": "Ann",
                            "substitutions": {"first": "Ann"}},
                           {"email": "b@example.net", "substitutions": {"first": "Bob"}}],
            "content": {"from": {"email": "news@example.com", "name": "Example News"},
                        "subject": "Hi {{ first }}", "text_body": "Dear {{first}},\nbye.\n",
                        "headers": {"X-Campaign": "{{company}}-42"}},
            "substitutions": {"company": "Example"},
        },
        "expect": [
            {"from": ("Example News", "news@example.com"), "to": ("Ann", "a@example.net"),
             "subject": "Hi Ann", "text": "Dear Ann,\nbye.\n", "headers": {"X-Campaign": "Example-42"}},
            {"from": ("Example News", "news@example.com"), "to": ("", "b@example.net"),
             "subject": "Hi Bob", "text": "Dear Bob,\nbye.\n"},
        ],
    },
    {
        "name": "alternative_non_ascii",
        "request": {
            "recipients": [{"email": "z@example.net", "name": "Zoë Ünal",
                            "substitutions": {"first": "Zoë"}}],
            "content": {"from": {"email": "news@example.com", "name": "Nouvelles \"Été\""},
                        "reply_to": {"email": "help@example.com", "name": "Help, Desk"},
                        "subject": LONG_SUBJECT + "{{first}}",
                        "text_body": "Bonjour {{first}} é\n" + "x" * 3000 + "\n",
                        "html_body": "<p>日本語のテキスト {{first}}</p>\n" * 20,
                        "headers": {"X-Note": "naïve {{first}}"}},
        },
        "expect": [
            {"from": ("Nouvelles \"Été\"", "news@example.com"), "to": ("Zoë Ünal", "z@example.net"),
             "reply_to": ("Help, Desk", "help@example.com"),
             "subject": LONG_SUBJECT + "Zoë", "text": "Bonjour Zoë é\n" + "x" * 3000 + "\n",
             "html": "<p>日本語のテキスト Zoë</p>\n" * 20, "headers": {"X-Note": "naïve Zoë"}},
        ],
    },
    {
        "name": "attachments",
        "request": {
            "envelope_sender": "bounces@example.com",
            "recipients": [{"email": "a@example.net"}],
            "content": {"from": "news@example.com", "subject": "Files",
                        "text_body": "See attached.", "html_body": "<b>See attached.</b>",
                        "attachments": [
                            {"content_type": "application/octet-stream",
                             "file_name": "€ rates 2026.bin",
                             "data": base64.b64encode(BINARY).decode(), "base64": True},
                            {"content_type": "text/csv", "file_name": "a \"quoted\".csv",
                             "data": "a,b\n1,2\n"},
                            {"content_type": "application/pdf", "data": "JVBERi0=",
                             "base64": True}]},
        },
        "expect": [
            {"from": ("", "news@example.com"), "to": ("", "a@example.net"), "subject": "Files",
             "text": "See attached.", "html": "<b>See attached.</b>",
             "attachments": [("€ rates 2026.bin", "application/octet-stream", BINARY),
                             ("a \"quoted\".csv", "text/csv", b"a,b\n1,2\n"),
                             (None, "application/pdf", b"%PDF-")]},
        ],
    },
    {
        "name": "raw",
        "request": {
            "envelope_sender": "bounces@example.com",
            "recipients": [{"email": "a@example.net", "substitutions": {"first": "Ann\nBcc: x@y.z"}}],
            "content": "From: news@example.com\nTo: a@example.net\nSubject: Hi {{first}}\n"
                       "\nHello {{first}}\n",
        },
        "expect": [
            {"from": ("", "news@example.com"), "to": ("", "a@example.net"),
             "subject": "Hi Ann Bcc: x@y.z", "text": "Hello Ann\nBcc: x@y.z\n", "no_bcc": True},
        ],
    },
]


def fail(message):
    print("FAIL " + message)
    return 1


def text_of(part):
    return part.get_content().replace("\r\n", "\n")


def check_lines(name, raw):
    problems = 0
    for number, line in enumerate(raw.split(b"\r\n"), 1):
        if b"\r" in line or b"\n" in line:
            problems += fail(f"{name}: line {number} has a bare CR or LF")
        if len(line) > 998:
            problems += fail(f"{name}: line {number} has {len(line)} octets")
    if not raw.endswith(b"\r\n"):
        problems += fail(f"{name}: does not end with CRLF")
    return problems


def check_address(name, field, header, expected):
    if header is None:
        return fail(f"{name}: no {field}")
    address = header.addresses[0]
    if (address.display_name, address.addr_spec) != expected:
        return fail(f"{name}: {field} is {(address.display_name, address.addr_spec)}, "
                    f"expected {expected}")
    return 0


def check_message(name, raw, expect):
    problems = check_lines(name, raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.defects:
            problems += fail(f"{name}: defects in {part.get_content_type()}: {part.defects}")
    problems += check_address(name, "From", message["From"], expect["from"])
    problems += check_address(name, "To", message["To"], expect["to"])
    if "reply_to" in expect:
        problems += check_address(name, "Reply-To", message["Reply-To"], expect["reply_to"])
    if str(message["Subject"]) != expect["subject"]:
        problems += fail(f"{name}: subject {str(message['Subject'])!r}, expected "
                         f"{expect['subject']!r}")
    for key, value in expect.get("headers", {}).items():
        if str(message[key]) != value:
            problems += fail(f"{name}: {key} {str(message[key])!r}, expected {value!r}")
    if not message["Message-ID"] or not message["Date"]:
        problems += fail(f"{name}: no Message-ID or Date")
    if expect.get("no_bcc") and message["Bcc"] is not None:
        problems += fail(f"{name}: a substitution added a Bcc header")
    for kind in ("text", "html"):
        if kind not in expect:
            continue
        body = message.get_body(preferencelist=("plain",) if kind == "text" else ("html",))
        if body is None:
            problems += fail(f"{name}: no {kind} part")
            continue
        got = text_of(body)
        # The builder ends a message with a line break; the text's own end is kept otherwise.
        if got != expect[kind] and got != expect[kind] + "\n":
            problems += fail(f"{name}: {kind} part {got[:80]!r}... differs from the request")
    attachments = list(message.iter_attachments())
    expected_attachments = expect.get("attachments", [])
    if len(attachments) != len(expected_attachments):
        problems += fail(f"{name}: {len(attachments)} attachments, expected "
                         f"{len(expected_attachments)}")
    for part, (file_name, content_type, data) in zip(attachments, expected_attachments):
        if part.get_filename() != file_name or part.get_content_type() != content_type:
            problems += fail(f"{name}: attachment {part.get_filename()!r} "
                             f"{part.get_content_type()}, expected {file_name!r} {content_type}")
        if part.get_payload(decode=True) != data:
            problems += fail(f"{name}: attachment {file_name!r} decodes to other bytes")
        for line in part.get_payload().split("\n")[:-2]:
            if len(line.rstrip("\r")) != 76:
                problems += fail(f"{name}: base64 line of {len(line.rstrip())} characters")
                break
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tool = sys.argv[1]
    problems = 0
    checked = 0
    with tempfile.TemporaryDirectory(prefix="tern-inject-") as scratch:
        for sample in SAMPLES:
            directory = os.path.join(scratch, sample["name"])
            os.mkdir(directory)
            request = os.path.join(directory, "request.json")
            with open(request, "w", encoding="utf-8") as out:
                json.dump(sample["request"], out, ensure_ascii=False)
            done = subprocess.run([tool, request, directory], capture_output=True, text=True,
                                  timeout=60)
            if done.returncode != 0:
                problems += fail(f"{sample['name']}: inject_build failed: {done.stderr}")
                continue
            for index, expect in enumerate(sample["expect"]):
                with open(os.path.join(directory, f"{index}.eml"), "rb") as message:
                    raw = message.read()
                problems += check_message(f"{sample['name']}[{index}]", raw, expect)
                checked += 1
    if problems:
        print(f"{problems} problem(s) in {checked} messages")
        return 1
    print(f"{checked} messages parse without defects and decode as requested")
    return 0


if __name__ == "__main__":
    sys.exit(main())
