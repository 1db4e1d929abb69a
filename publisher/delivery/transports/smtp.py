"""SMTP through aiosmtplib: a pool of connections, each reused for many messages.

STARTTLS (default) or implicit TLS, certificates always verified (an extra CA bundle may be
trusted); the user from config, the password from the environment only."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

import aiosmtplib

from publisher.delivery.transports.base import Outcome, TransportError, smtp_outcome
from publisher.errors import Problem

LOOPBACK = ("127.0.0.1", "::1", "localhost")
DROPPED = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError,
           OSError)


def untrusted(error: BaseException) -> str | None:
    """The certificate's fault, if that is what failed (aiosmtplib wraps it when connecting)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message)
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    return text.split("certificate verify failed: ")[1].split(" (")[0] if (
        "certificate verify failed: " in text) else None


@dataclass
class SmtpTransport:
    host: str
    port: int
    tls: str
    user: str = ""
    password: str = ""
    ca_file: str = ""
    timeout: float = 60
    connections: int = 4
    name: str = "smtp"
    max_rate: float | None = None
    _idle: asyncio.Queue[aiosmtplib.SMTP] = field(default_factory=asyncio.Queue)
    _all: list[aiosmtplib.SMTP] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _client(self) -> aiosmtplib.SMTP:
        context = ssl.create_default_context()  # verifies the certificate and the host name
        if self.ca_file:
            context.load_verify_locations(self.ca_file)
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout,
            use_tls=self.tls == "implicit", start_tls=self.tls == "starttls",
            tls_context=context if self.tls != "none" else None,
            username=self.user or None, password=self.password or None,
        )

    async def open(self) -> None:
        """Connect the first connection now, so a wrong host, TLS or AUTH stops the run early."""
        if self.user and self.tls == "none" and self.host not in LOOPBACK:
            raise self._error("would send the password unencrypted ([send] tls = \"none\")",
                              "use tls = \"starttls\" or \"implicit\"")
        client = self._client()
        await self._connect(client)
        self._all.append(client)
        self._idle.put_nowait(client)
        for _ in range(self.connections - 1):  # the others connect on first use
            self._all.append(new := self._client())
            self._idle.put_nowait(new)

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.connect()
            # SIZE is optional (RFC 1870); declaring it costs aiosmtplib a regex pass over every
            # message (a third of the client's CPU per message), for a limit we never approach.
            client.esmtp_extensions.pop("size", None)
        except aiosmtplib.SMTPAuthenticationError as error:
            raise self._error(f"the server refused AUTH for user '{self.user}': {error.code} "
                              f"{error.message}", "check [send] user and PUBLISHER_SEND__PASSWORD"
                              ) from error
        except (ssl.SSLCertVerificationError, aiosmtplib.SMTPException) as error:
            if (reason := untrusted(error)) is not None:
                raise self._error(f"its TLS certificate is not trusted: {reason}",
                                  "fix the relay's certificate, or trust its CA with [send] "
                                  "ca_file") from error
            text = str(error)
            if "STARTTLS" in text.upper():
                raise self._error("the server offers no STARTTLS, and [send] tls = \"starttls\" "
                                  "requires it", "use a relay that offers STARTTLS, or "
                                  "tls = \"implicit\" on its TLS port") from error
            raise self._error(f"cannot connect: {text}", "check [send] host and port") from error
        except (TimeoutError, OSError) as error:
            raise self._error(f"cannot connect: {error.strerror or error}",
                              "check [send] host and port, and that the relay is running") from error

    def _error(self, message: str, hint: str) -> TransportError:
        return TransportError(Problem("config.toml", f"SMTP relay {self.where}: {message}",
                                      "[send]", "host", hint))

    async def send(self, envelope_from: str, recipient: str, message: bytes) -> Outcome:
        client = await self._idle.get()
        try:
            if not client.is_connected:
                await self._connect(client)
            return await self._sendmail(client, envelope_from, recipient, message)
        except TransportError as error:  # reconnecting failed mid-run: slow down, retry later
            return Outcome("deferred", f"connection: {error.problems[0].message}", throttle=True)
        finally:
            self._idle.put_nowait(client)

    async def _sendmail(self, client: aiosmtplib.SMTP, sender: str, recipient: str,
                        message: bytes) -> Outcome:
        try:
            _, reply = await client.sendmail(sender, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            return smtp_outcome(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:  # the server closes after a 421
                client.close()
            return smtp_outcome(error.code, error.message)
        except DROPPED as error:
            client.close()
            return Outcome("deferred", f"connection dropped: {error or type(error).__name__}",
                           throttle=True)
        return Outcome("accepted", f"250 {' '.join(reply.split())}")

    async def close(self) -> None:
        for client in self._all:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
