"""Mails as rows of the outbox: rendered when queued, with the Message-ID every attempt will
carry and, for mails about matches, the user's signed unsubscribe link."""

import uuid
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote
from uuid import UUID

from notifier_service.adapters.db.repository import NotifierRepository
from notifier_service.adapters.db.tables import OutgoingMail
from notifier_service.domain import texts
from notifier_service.domain.mail import unsubscribe_token, unsubscribing_user
from notifier_service.mail.templates import greeting, render
from unimatch_shared.events import EmailChangeRequested, PasswordResetRequested

UNSUBSCRIBE_KEY = "unsubscribe"
UNSUBSCRIBE_PATH = "/users/api/unsubscribe/{token}/"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d.%m.%Y %H:%M UTC")


class MailComposer:
    def __init__(self, public_url: str, mail_from: str):
        self._public_url = public_url
        self._domain = parseaddr(mail_from)[1].rpartition("@")[2]
        self._key: bytes | None = None

    async def key(self, repo: NotifierRepository) -> bytes:
        """The unsubscribe links' key, read once per process."""
        if self._key is None:
            self._key = await repo.signing_key(UNSUBSCRIBE_KEY)
        return self._key

    async def unsubscribing_user(self, repo: NotifierRepository, token: str) -> int | None:
        return unsubscribing_user(await self.key(repo), token)

    async def unsubscribe_url(self, repo: NotifierRepository, user_id: int) -> str:
        token = unsubscribe_token(await self.key(repo), user_id)
        return self._public_url + UNSUBSCRIBE_PATH.format(token=token)

    def _mail(
        self,
        kind: str,
        cause: UUID,
        user_id: int,
        recipient: str,
        name: str,
        unsubscribe_url: str | None = None,
        **context: Any,
    ) -> OutgoingMail:
        rendered = render(kind, unsubscribe_url, greeting=greeting(name), **context)
        return OutgoingMail(
            idempotency_key=f"{cause}:{user_id}",
            user_id=user_id,
            kind=kind,
            recipient=recipient,
            display_name=name,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            message_id=f"<{uuid.uuid4().hex}@{self._domain}>",
            unsubscribe_url=unsubscribe_url,
        )

    async def announcement(
        self,
        repo: NotifierRepository,
        cause: UUID,
        user_id: int,
        recipient: str,
        name: str,
        partners: list[dict[str, Any]],
        shared_hobbies: list[str],
    ) -> OutgoingMail:
        """A new match: the partner(s), how to reach them, the hobbies they share."""
        people = [
            {"name": texts.DELETED_USER, "email": None, "username": None}
            if p.get("deleted")
            else {
                "name": f"{p['first_name']} {p['last_name']}".strip() or p["email"],
                "email": p["email"],
                "username": p.get("username"),
            }
            for p in partners
        ]
        url = await self.unsubscribe_url(repo, user_id)
        return self._mail(
            "announcement",
            cause,
            user_id,
            recipient,
            name,
            url,
            partners=people,
            shared_hobbies=shared_hobbies,
        )

    async def round_skipped(
        self, repo: NotifierRepository, cause: UUID, user_id: int, recipient: str, name: str
    ) -> OutgoingMail:
        url = await self.unsubscribe_url(repo, user_id)
        return self._mail("round_skipped", cause, user_id, recipient, name, url)

    def password_reset(self, event: PasswordResetRequested, name: str) -> OutgoingMail:
        """The reset link auth asked for: ``<public URL>/password-reset/<uid>/<token>``."""
        link = f"{self._public_url}/password-reset/{quote(event.uid, safe='')}/"
        link += quote(event.token, safe="")
        return self._link_mail("password_reset", event, event.email, name, link)

    def email_change(self, event: EmailChangeRequested, name: str) -> OutgoingMail:
        """The confirmation link, to the new address: ``<public URL>/confirm-email/<token>``."""
        link = f"{self._public_url}/confirm-email/{quote(event.token, safe='')}"
        return self._link_mail("email_change", event, event.new_email, name, link)

    def _link_mail(
        self,
        kind: str,
        event: PasswordResetRequested | EmailChangeRequested,
        recipient: str,
        name: str,
        link: str,
    ) -> OutgoingMail:
        """A mail carrying the link auth made for ``event``, valid until it expires."""
        expires_at = _when(event.expires_at)
        return self._mail(
            kind, event.event_id, event.user_id, recipient, name, link=link, expires_at=expires_at
        )
