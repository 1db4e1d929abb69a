"""The SES v2 transport against moto in server mode on 127.0.0.1, through real boto3 over HTTP."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import httpx
import pytest

from tests.sendkit import add_subscribers, env, ledger, send, workspace

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (the `ses` extra)")

SENDER_DOMAIN = "commonspace.example"  # the example's [email] from


@pytest.fixture
def ses() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    httpx.post(f"{url}/moto-api/reset")  # moto keeps its state per process: start clean
    try:
        yield url
    finally:
        server.stop()


def aws_env(endpoint: str, **extra: str) -> dict[str, str]:
    # No instance-metadata lookups: the only network here is 127.0.0.1.
    return env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent", **extra)


def sent_messages() -> list[object]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_ses_sends_raw_bytes_at_the_account_rate(tmp_path: Path, ses: str) -> None:
    client = boto3.client("sesv2", endpoint_url=ses, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_email_identity(EmailIdentity=SENDER_DOMAIN)
    ws = workspace(tmp_path / "ws", None, transport="ses", ses_region="us-east-1")
    addresses = [f"s{n}@example.org" for n in range(4)]
    add_subscribers(ledger(ws), addresses)
    before = len(sent_messages())
    started = time.monotonic()
    result = send(ws, "2024-16", "--yes", environ=aws_env(ses))
    elapsed = time.monotonic() - started
    assert result.code == 0, result.stderr
    assert "4 sent, 0 failed" in result.stdout
    raws = sent_messages()[before:]
    assert sorted(m.destinations[0] for m in raws) == addresses  # type: ignore[attr-defined]
    for message in raws:
        msg = email.message_from_string(message.raw_data, policy=policy.default)  # type: ignore[attr-defined]
        assert msg["To"].addresses[0].addr_spec == message.destinations[0]  # type: ignore[attr-defined]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # moto's account allows 1 message a second: four take at least three seconds.
    assert elapsed >= 3
    status = send(ws, "2024-16", "--status", environ=aws_env(ses))
    assert "4 sent" in status.stdout


def test_an_unverified_sender_fails_for_good(tmp_path: Path, ses: str) -> None:
    ws = workspace(tmp_path / "ws", None, transport="ses", ses_region="us-east-1")
    add_subscribers(ledger(ws), ["x@example.org"])
    result = send(ws, "2024-16", "--yes", environ=aws_env(ses))
    assert result.code == 1
    shown = send(ws, "2024-16", "--status", environ=aws_env(ses))
    assert "MessageRejected" in shown.stdout and "x@example.org" in shown.stdout


def test_missing_aws_credentials(tmp_path: Path, ses: str) -> None:
    ws = workspace(tmp_path / "ws", None, transport="ses", ses_region="us-east-1")
    add_subscribers(ledger(ws), ["x@example.org"])
    environ = aws_env(ses)
    del environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"]
    result = send(ws, "2024-16", "--yes", environ=environ)
    assert result.code == 1 and "no AWS credentials found" in result.stderr
    assert "AWS_ACCESS_KEY_ID" in result.stderr and "Traceback" not in result.stderr
