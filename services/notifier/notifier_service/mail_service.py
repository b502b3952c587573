"""The notifier's mail use cases (docs/adr/021-email-delivery.md): mails queued from events in
the transaction that consumes them, the recipients' read model, the one-click unsubscribe,
and the sender's claims on the mail outbox. What goes to members on their channels (Telegram
and mail together: announcements, round skipped) is in ``service``; forgetting a deleted
account in ``bot_service``."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from notifier_service.adapters.db.repository import NOTIFICATION_KINDS, NotifierRepository
from notifier_service.adapters.db.tables import OutgoingMail
from notifier_service.domain.mail import Outcome
from notifier_service.mail.compose import MailComposer
from notifier_service.service import CONSUMER
from unimatch_shared.channels import effective_channels, without_email
from unimatch_shared.consumers import retry_delay
from unimatch_shared.events import (
    AccountEmailChanged,
    EmailChangeRequested,
    EmailUnsubscribed,
    PasswordResetRequested,
)
from unimatch_shared.inbox import applied_once
from unimatch_shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500
# An event that asks to mail someone a link auth made.
LinkEvent = TypeVar("LinkEvent", PasswordResetRequested, EmailChangeRequested)


async def on_password_reset_requested(
    uow: UnitOfWork, mail: MailComposer, event: PasswordResetRequested
) -> bool:
    """Queue the reset link; True if queued now (not on a redelivery)."""
    return await _queue_link_mail(uow, event, mail.password_reset)


async def on_email_change_requested(
    uow: UnitOfWork, mail: MailComposer, event: EmailChangeRequested
) -> bool:
    """Queue the confirmation link, to the new address; True if queued now."""
    return await _queue_link_mail(uow, event, mail.email_change)


async def _queue_link_mail(
    uow: UnitOfWork, event: LinkEvent, compose: Callable[[LinkEvent, str], OutgoingMail]
) -> bool:
    """Queue the mail ``compose`` makes of ``event``, greeting the member by the name known
    here (none yet, for someone whose profile has not arrived)."""
    async with uow:
        if not await uow.first_delivery(CONSUMER, event.event_id):
            return False
        repo = NotifierRepository(uow.session)
        known = await repo.member(event.user_id)
        await repo.add_mail(compose(event, known.first_name if known else ""))
        await uow.commit()
    return True


@applied_once(CONSUMER)
async def on_account_email_changed(uow: UnitOfWork, event: AccountEmailChanged) -> None:
    """Mails from now on go to the confirmed new address."""
    repo = NotifierRepository(uow.session)
    await repo.change_member_email(event.user_id, event.email, event.occurred_at)


async def is_genuine(uow: UnitOfWork, mail: MailComposer, token: str) -> bool:
    """Whether ``token`` is one we signed (changes nothing)."""
    async with uow:
        repo = NotifierRepository(uow.session)
        return await mail.unsubscribing_user(repo, token) is not None


async def unsubscribe(uow: UnitOfWork, mail: MailComposer, token: str) -> bool:
    """The one-click link was followed: email off for its user, at once here (mails about
    matches not yet sent are dropped) and, through ``EmailUnsubscribed``, in the profile.
    False if the token is not one we signed. Following it again changes nothing more."""
    async with uow:
        repo = NotifierRepository(uow.session)
        user_id = await mail.unsubscribing_user(repo, token)
        if user_id is None:
            return False
        known = await repo.member(user_id, for_update=True)
        linked = bool(await repo.links_of([user_id]))
        if known is None or "email" in effective_channels(known.channels, linked):
            if known is not None:
                known.channels = without_email(known.channels, linked)
                uow.session.add(known)
            await repo.cancel_mails(user_id, NOTIFICATION_KINDS)
            uow.emit(EmailUnsubscribed(user_id=user_id))
            log.info("user %d turned email off through the unsubscribe link", user_id)
        await uow.commit()
    return True


# The sender's side of the outbox
async def release_claims(uow: UnitOfWork) -> int:
    """At the sender's start: mails a stopped sender had claimed are due again."""
    async with uow:
        released = await NotifierRepository(uow.session).release_claims()
        await uow.commit()
    return released


async def claim_mail(uow: UnitOfWork) -> OutgoingMail | None:
    """The oldest mail that is due, marked ``sending`` (committed before it goes out)."""
    async with uow:
        claimed = await NotifierRepository(uow.session).claim_mail()
        await uow.commit()
    return claimed


def _error(reply: str) -> str:
    return reply[:MAX_ERROR_CHARS]


async def record_outcome(
    uow: UnitOfWork,
    mail: OutgoingMail,
    outcome: Outcome | None,
    reply: str,
    max_attempts: int,
    max_delay: float,
) -> str:
    """Record what became of a claimed mail; returns its new status. ``outcome`` None: it was
    logged, not sent (no SMTP server configured)."""
    assert mail.id is not None
    now = datetime.now(UTC)
    values: dict[str, object]
    if outcome is None:
        values = {"status": "logged", "sent_at": now}
    elif outcome is Outcome.SENT:
        values = {"status": "sent", "sent_at": now}
    elif outcome is Outcome.FAILED:
        values = {"status": "failed", "last_error": _error(reply)}
    elif outcome is Outcome.RETRY and mail.attempts + 1 >= max_attempts:
        values = {
            "status": "failed",
            "attempts": mail.attempts + 1,
            "last_error": _error(f"gave up after {mail.attempts + 1} attempts: {reply}"),
        }
    elif outcome is Outcome.RETRY:
        delay = retry_delay(mail.attempts + 1, max_delay)
        values = {
            "status": "pending",
            "attempts": mail.attempts + 1,
            "next_attempt_at": now + timedelta(seconds=delay),
            "last_error": _error(reply),
        }
    else:  # the server, not the mail: due again as it was
        values = {"status": "pending", "last_error": _error(reply)}
    async with uow:
        await NotifierRepository(uow.session).update_mail(mail.id, **values)
        await uow.commit()
    return str(values["status"])
