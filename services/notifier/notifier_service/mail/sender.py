"""Delivers the mail outbox: one mail at a time over one SMTP connection, the oldest due
first, at most ``MAIL_MESSAGES_PER_SECOND``.

A mail is claimed (``sending``, committed) before it goes out and its outcome recorded right
after the server's answer. A sender that stops in between leaves the claim: the next start
sends that one mail again, with the same Message-ID (docs/adr/021-email-delivery.md).
"""

import asyncio
import logging
from datetime import UTC, datetime

from notifier_service import mail_service
from notifier_service.adapters.db.tables import OutgoingMail
from notifier_service.delivery import OutboxLoop, grow_backoff
from notifier_service.domain.mail import Outcome
from notifier_service.domain.rate_limit import RateLimiter
from notifier_service.mail.message import BadAddress, build_message, recipient_address
from notifier_service.mail.smtp import SmtpServer
from notifier_service.metrics import MAILS
from notifier_service.settings import NotifierSettings
from unimatch_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 5.0
_ANY = 0  # the limiter's per-chat interval does not apply to mail: one key for all


class MailSender(OutboxLoop):
    name = "mail sender"

    def __init__(self, runtime: ServiceRuntime, settings: NotifierSettings):
        super().__init__()
        self._runtime = runtime
        self._settings = settings
        self._server = (
            SmtpServer(settings.smtp_url, settings.mail_timeout_seconds)
            if settings.smtp_url
            else None
        )
        self._limiter = RateLimiter(
            per_second=settings.mail_messages_per_second, chat_interval=0, margin=0
        )
        self._backoff = 0.0
        self._claims_released = False
        self._delivery: asyncio.Task[None] | None = None

    async def _dispatch(self) -> int:
        if not self._claims_released:
            resent = await mail_service.release_claims(self._runtime.unit_of_work())
            self._claims_released = True
            if resent:
                MAILS.labels("resent").inc(resent)
                log.warning("sending again %d mails claimed before a stop", resent)
        if self._backoff:
            await asyncio.sleep(self._backoff)
        # A slot first, taken only once there is a mail: a stop while waiting leaves no claim.
        while (wait := self._limiter.delay(_ANY)) > 0:
            await asyncio.sleep(wait)
        mail = await mail_service.claim_mail(self._runtime.unit_of_work())
        if mail is None:
            if self._server:
                await self._server.close()  # nothing due: no connection held open idle
            return 0
        self._limiter.take(_ANY)
        # Shielded: stopping the service lets this mail finish and be recorded.
        self._delivery = asyncio.create_task(self._deliver(mail))
        await asyncio.shield(self._delivery)
        return 1

    async def _finish_in_flight(self) -> None:
        if self._delivery is not None and not self._delivery.done():
            _, unfinished = await asyncio.wait([self._delivery], timeout=SHUTDOWN_GRACE_SECONDS)
            for task in unfinished:
                task.cancel()
        if self._server:
            await self._server.close()

    async def _deliver(self, mail: OutgoingMail) -> None:
        try:
            outcome, reply = await self._send(mail)
        except Exception as exc:  # a failure nobody foresaw: not the mail's, keep it due
            log.warning("sending mail %d failed", mail.id, exc_info=True)
            outcome, reply = Outcome.UNREACHABLE, f"{type(exc).__name__}: {exc}"
        status = await self._record(mail, outcome, reply)
        if outcome is Outcome.UNREACHABLE:
            self._backoff = grow_backoff(self._backoff, MAX_BACKOFF_SECONDS)
            log.warning("mail server: %s; backing off %.0fs", reply, self._backoff)
        else:
            self._backoff = 0.0
        MAILS.labels(_metric_outcome(outcome, status)).inc()
        if status == "failed":
            log.warning(
                "mail %d (%s) for user %s failed: %s", mail.id, mail.kind, mail.user_id, reply
            )

    async def _record(self, mail: OutgoingMail, outcome: Outcome | None, reply: str) -> str:
        """Record the outcome, however long the database takes to come back: until it is,
        the mail stays claimed, and a claim is only let go at the next start."""
        delay = 0.0
        while True:
            try:
                return await mail_service.record_outcome(
                    self._runtime.unit_of_work(),
                    mail,
                    outcome,
                    reply,
                    self._settings.mail_max_attempts,
                    self._settings.mail_retry_max_delay_seconds,
                )
            except Exception:
                delay = grow_backoff(delay, MAX_BACKOFF_SECONDS)
                log.warning(
                    "recording mail %d failed; again in %.0fs", mail.id, delay, exc_info=True
                )
                await asyncio.sleep(delay)

    async def _send(self, mail: OutgoingMail) -> tuple[Outcome | None, str]:
        """Hand the mail to the server; (None, "") when there is none to hand it to."""
        if self._server is None:
            # Ids only: a mail names people, and may carry a reset link (no secrets in logs).
            log.info(
                "no SMTP_URL; mail %d (%s) for user %s not sent", mail.id, mail.kind, mail.user_id
            )
            return None, ""
        try:
            message = build_message(mail, self._settings.mail_from, datetime.now(UTC))
            recipient = recipient_address(mail).addr_spec
        except (BadAddress, ValueError) as exc:
            return Outcome.FAILED, f"not sendable: {exc}"
        return await self._server.send(message, self._settings.mail_from_address, recipient)


def _metric_outcome(outcome: Outcome | None, status: str) -> str:
    if outcome is Outcome.UNREACHABLE:
        return "unreachable"
    if outcome is Outcome.RETRY and status == "pending":
        return "retried"
    return status  # sent, logged, failed
