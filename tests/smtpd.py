"""A real SMTP server for the send tests: aiosmtpd on 127.0.0.1, STARTTLS with a test CA
(trustme), AUTH, and a script of answers per recipient (421, 451, 454, 550, dropped
connections). It keeps every message it accepted."""

from __future__ import annotations

import socket
import ssl
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "sender", "s3cret-pass"
# An answer per attempt; "ok" accepts, "drop" closes the connection without a word,
# "drop-data" closes it after the message was read but before the reply.
Script = Callable[[str, int], str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the server saw: accepted messages per recipient, and every attempt."""

    script: Script = lambda rcpt, attempt: "ok"
    received: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    queue_id: int = 0

    def answer(self, rcpt: str) -> str:
        with self.lock:
            self.attempts[rcpt] += 1
            return self.script(rcpt, self.attempts[rcpt])

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        answer = self.answer(address)
        if answer == "drop":
            assert server.transport is not None
            server.transport.close()
            return "421 dropped"  # never reaches the client
        if answer in ("ok", "drop-data"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.append(f"answer={answer}")
            return "250 OK"
        if answer.startswith("421") and server.transport is not None:
            server.transport.write(f"{answer}\r\n".encode())
            server.transport.close()
            return answer
        return answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if "answer=drop-data" in envelope.rcpt_options:
            assert server.transport is not None
            server.transport.close()
            return "451 dropped"
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt].append(data)
            self.queue_id += 1
            return f"250 2.0.0 Ok: queued as Q{self.queue_id:06d}"

    def total(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.received.values())


def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    host: str
    port: int
    mailbox: Mailbox
    ca_file: Path


@contextmanager
def smtp_server(folder: Path, script: Script | None = None, tls: bool = True,
                auth: bool = True, implicit: bool = False) -> Iterator[Server]:
    """A running server on 127.0.0.1; STARTTLS (required) with a certificate from a test CA,
    or TLS from the first byte (implicit)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    mailbox = Mailbox(script) if script else Mailbox()
    kwargs: dict[str, Any] = {"auth_required": auth, "authenticator": authenticator,
                              "auth_require_tls": tls}
    if implicit:  # aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH
        kwargs.update(ssl_context=server_context, auth_require_tls=False)
    elif tls:
        kwargs.update(tls_context=server_context, require_starttls=True)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Server("127.0.0.1", port, mailbox, ca_file)
    finally:
        controller.stop()
