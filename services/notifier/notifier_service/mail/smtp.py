"""The SMTP server as the sender sees it: one connection, opened when there is mail and kept
while there is more; every failure told apart by what it means for the mail (``Outcome``)."""

import logging
from email.message import EmailMessage
from urllib.parse import unquote

import aiosmtplib
from pydantic_core import Url

from notifier_service.domain.mail import Outcome, reply_outcome

log = logging.getLogger(__name__)

# Failures of the server or of our account on it, whatever the mail: the greeting refused,
# EHLO refused, authentication refused (a configuration to fix, not mails to drop).
_SERVER_REFUSALS = (
    aiosmtplib.SMTPConnectResponseError,
    aiosmtplib.SMTPHeloError,
    aiosmtplib.SMTPAuthenticationError,
)


class SmtpServer:
    def __init__(self, url: Url, timeout: float):
        secure = url.scheme == "smtps"
        self._client = aiosmtplib.SMTP(
            hostname=url.host,
            port=url.port or (465 if secure else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=secure,
            start_tls=None,  # STARTTLS when the server offers it
            timeout=timeout,
        )

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> tuple[Outcome, str]:
        """Hand one mail over; what became of it, and the server's words when refused."""
        try:
            if not self._client.is_connected:
                await self._client.connect()
            # Flattened with the message's own policy (message.py); send_message would
            # refold the headers with the standard one.
            await self._client.sendmail(sender, [recipient], message.as_bytes())
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            return reply_outcome(refusal.code), f"{refusal.code} {refusal.message}"
        except _SERVER_REFUSALS as exc:
            await self.close()
            return Outcome.UNREACHABLE, f"{exc.code} {exc.message}"
        except aiosmtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
            outcome = reply_outcome(exc.code)
            if outcome is Outcome.UNREACHABLE:
                await self.close()
            return outcome, f"{exc.code} {exc.message}"
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused, reset, timed out
            await self.close()
            return Outcome.UNREACHABLE, f"{type(exc).__name__}: {exc}"
        return Outcome.SENT, ""

    async def close(self) -> None:
        """Say QUIT if the connection still stands; drop it either way."""
        if not self._client.is_connected:
            return
        try:
            await self._client.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._client.close()
