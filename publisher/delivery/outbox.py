"""Confirmation messages, written as .eml files to the outbox folder until a transport sends them."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment

from publisher.config import Config
from publisher.delivery.tokens import confirm_url


def confirmation_message(config: Config, env: Environment, email: str, name: str | None, url: str) -> EmailMessage:
    """An RFC 5322 message asking the person to confirm, with the confirm link."""
    sender = config.email.sender
    message = EmailMessage()
    message["From"] = Address(config.email.sender_name or config.newsletter.title, addr_spec=sender)
    message["To"] = Address(name or "", addr_spec=email)
    message["Subject"] = f"Confirm your subscription to {config.newsletter.title}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    text = env.get_template("serve/confirm_email.txt").render(config=config, url=url, name=name)
    message.set_content(text)
    return message


def write_outbox(folder: Path, subscriber_id: int, message: EmailMessage) -> Path:
    """Write atomically, readable by this user only: the file holds a personal address."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{subscriber_id}-{secrets.token_hex(4)}.eml"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".confirm.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def queue_confirmation(root: Path, config: Config, env: Environment, endpoint: str, secret: bytes,
                       subscriber_id: int, email: str, name: str | None) -> Path:
    """The confirmation message with its signed link, written to the workspace's outbox."""
    url = confirm_url(endpoint, subscriber_id, secret)
    message = confirmation_message(config, env, email, name, url)
    return write_outbox(root / config.subscribers.outbox, subscriber_id, message)
