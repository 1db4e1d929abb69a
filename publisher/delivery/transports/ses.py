"""Amazon SES v2 through boto3: our exact bytes as raw content, at the account's send rate.

Credentials come from the standard AWS chain (environment, shared profile, instance role),
never from config.toml. boto3 is the optional extra `ses`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from publisher.delivery.transports.base import Outcome, TransportError
from publisher.errors import Problem

# SES answers that mean "slow down" (never counted as sent) and "try later".
THROTTLES = {"TooManyRequestsException", "LimitExceededException", "Throttling",
             "ThrottlingException"}
LATER = {"SendingPausedException", "InternalFailure", "ServiceUnavailable",
         "InternalServiceErrorException"}


@dataclass
class SesTransport:
    region: str = ""
    timeout: float = 60
    name: str = "ses"
    max_rate: float | None = None
    _client: Any = None

    def _error(self, message: str, hint: str) -> TransportError:
        return TransportError(Problem("config.toml", f"Amazon SES: {message}", "[send]",
                                      "transport", hint))

    async def open(self) -> None:
        """Make the client and read the account's send quota; fails on missing credentials."""
        try:
            import boto3
            from botocore.config import Config as BotoConfig
            from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
        except ImportError as error:
            raise self._error("boto3 is not installed", "pip install 'publisher[ses]'") from error
        config = BotoConfig(retries={"max_attempts": 1, "mode": "standard"},
                            connect_timeout=self.timeout, read_timeout=self.timeout)
        try:
            self._client = boto3.client("sesv2", region_name=self.region or None, config=config)
            account = await asyncio.to_thread(self._account, boto3, config)
        except NoCredentialsError as error:
            raise self._error("no AWS credentials found", "set AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (never in config.toml)") from error
        except ClientError as error:
            raise self._error(f"get_account failed: {describe(error)}",
                              "check the credentials' permissions (ses:GetAccount, "
                              "ses:SendEmail)") from error
        except BotoCoreError as error:
            raise self._error(str(error), "set [send] ses_region or AWS_DEFAULT_REGION") from error
        quota = account.get("SendQuota", {})
        self.max_rate = float(quota.get("MaxSendRate") or 0) or None
        if not account.get("SendingEnabled", True):
            raise self._error("sending is paused for this account", "resume it in the SES console")

    def _account(self, boto3: Any, config: Any) -> dict[str, Any]:
        """v2 GetAccount; an endpoint without it (moto, some proxies) answers 404, and then
        v1 GetSendQuota gives the same quota."""
        from botocore.exceptions import ClientError

        try:
            return dict(self._client.get_account())
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
        v1 = boto3.client("ses", region_name=self.region or None, config=config)
        return {"SendQuota": dict(v1.get_send_quota()), "SendingEnabled": True}

    async def send(self, envelope_from: str, recipient: str, message: bytes) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = await asyncio.to_thread(
                self._client.send_email, FromEmailAddress=envelope_from,
                Destination={"ToAddresses": [recipient]}, Content={"Raw": {"Data": message}},
            )
        except ClientError as error:
            return ses_outcome(error.response.get("Error", {}).get("Code", ""), describe(error))
        except BotoCoreError as error:  # connection trouble: nothing was accepted
            return Outcome("deferred", f"connection: {error}", throttle=True)
        return Outcome("accepted", f"SES MessageId {reply.get('MessageId', '')}")

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()


def ses_outcome(code: str, answer: str) -> Outcome:
    if code in THROTTLES:
        return Outcome("deferred", answer, throttle=True)
    if code in LATER:
        return Outcome("deferred", answer)
    return Outcome("failed", answer)


def describe(error: Any) -> str:
    info = error.response.get("Error", {})
    return f"{info.get('Code', 'Error')}: {info.get('Message', '')}".strip()
