"""Mail rules without a server: header-safe text, what SMTP replies mean, the unsubscribe
token, the rendered mails and the message put on the wire (docs/adr/021-email-delivery.md)."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from uuid import uuid4

import pytest

from notifier_service.adapters.db.tables import DELETED_PARTNER, OutgoingMail
from notifier_service.domain.mail import (
    Outcome,
    one_line,
    reply_outcome,
    unsubscribe_token,
    unsubscribing_user,
)
from notifier_service.mail import sender as sender_module
from notifier_service.mail.compose import MailComposer
from notifier_service.mail.message import BadAddress, build_message
from notifier_service.mail.templates import render
from notifier_service.settings import NotifierSettings
from unimatch_shared.channels import effective_channels, without_email
from unimatch_shared.events import PasswordResetRequested

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Анна", "Анна", id="plain"),
        pytest.param("Eve\r\nBcc: x@example.org", "Eve Bcc: x@example.org", id="header injection"),
        pytest.param("a\nb\rc\x00d\x1be\u2028f\x85g", "a b c d e f g", id="every line break"),
        pytest.param("  \r\n  ", "", id="blank"),
    ],
)
def test_one_line_leaves_no_line_break(text, expected):
    assert one_line(text) == expected


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (450, Outcome.RETRY),
        (451, Outcome.RETRY),
        (452, Outcome.RETRY),
        (421, Outcome.UNREACHABLE),
        (550, Outcome.FAILED),
        (554, Outcome.FAILED),
        (250, Outcome.UNREACHABLE),
        (-1, Outcome.UNREACHABLE),
    ],
)
def test_what_a_refusal_means(code, outcome):
    assert reply_outcome(code) is outcome


def test_unsubscribe_token_names_its_user_and_cannot_be_forged():
    token = unsubscribe_token(KEY, 42)
    assert token.startswith("42.")
    assert unsubscribing_user(KEY, token) == 42
    assert unsubscribing_user(b"x" * 32, token) is None  # another key
    assert unsubscribing_user(KEY, token.replace("42.", "43.")) is None
    assert unsubscribing_user(KEY, token[:-1]) is None
    for garbage in ("", ".", "42", "42.", "-1.abc", "٤٢." + token[3:], "9" * 40 + ".x"):
        assert unsubscribing_user(KEY, garbage) is None


@pytest.mark.parametrize(
    ("chosen", "linked", "expected"),
    [
        (None, True, ["telegram"]),
        (None, False, ["email"]),
        ([], True, []),
        (["email", "telegram"], False, ["telegram", "email"]),
        (["email", "email"], True, ["email"]),
    ],
)
def test_channels_in_force(chosen, linked, expected):
    assert effective_channels(chosen, linked) == expected


def test_unsubscribing_keeps_what_else_was_in_force():
    assert without_email(None, False) == []
    assert without_email(None, True) == ["telegram"]
    assert without_email(["telegram", "email"], False) == ["telegram"]


def test_html_part_escapes_names_and_text_part_keeps_them():
    partner = {"name": "<b>Ева</b> & Co", "email": "eve@example.com", "username": None}
    mail = render(
        "announcement",
        "https://u.example/users/api/unsubscribe/1.x/",
        greeting="Здравствуйте!",
        partners=[partner],
        shared_hobbies=["Музыка"],
    )
    assert "&lt;b&gt;Ева&lt;/b&gt; &amp; Co" in mail.html
    assert "<b>Ева</b>" not in mail.html
    assert "<b>Ева</b> & Co — почта: eve@example.com" in mail.text
    assert mail.subject == "Ваша пара в UniMatch: <b>Ева</b> & Co"
    assert "Отписаться: https://u.example/users/api/unsubscribe/1.x/" in mail.text


def test_a_trio_is_announced_as_such():
    partners = [
        {"name": "Анна", "email": "a@example.com", "username": "anna"},
        {"name": "Борис", "email": "b@example.com", "username": None},
    ]
    mail = render(
        "announcement", None, greeting="Здравствуйте!", partners=partners, shared_hobbies=[]
    )
    assert mail.subject == "Ваша встреча в UniMatch: Анна, Борис"
    assert "вас трое" in mail.text
    assert "Telegram: @anna" in mail.text
    assert "Общих увлечений не нашлось" in mail.text
    assert "Отписаться" not in mail.text


class SigningKeys:
    """The repository's part the composer reads: the unsubscribe key."""

    async def signing_key(self, name: str) -> bytes:
        return KEY


async def test_a_partner_deleted_meanwhile_is_named_so_without_contacts():
    composer = MailComposer("https://unimatch.example.org", "UniMatch <noreply@mail.example>")
    boris = {"id": 3, "first_name": "Борис", "last_name": "", "email": "b@example.com"}
    mail = await composer.announcement(
        SigningKeys(), uuid4(), 1, "a@example.com", "Анна", [DELETED_PARTNER, boris], []
    )
    assert "• удалённый пользователь\n" in mail.text_body
    assert "<li>удалённый пользователь</li>" in mail.html_body
    assert "• Борис — почта: b@example.com" in mail.text_body


def outgoing(**fields) -> OutgoingMail:
    values = {
        "idempotency_key": "x:1",
        "user_id": 1,
        "kind": "announcement",
        "recipient": "anna@example.com",
        "display_name": "Анна",
        "subject": "Тема",
        "text_body": "Привет\n",
        "html_body": "<p>Привет</p>",
        "message_id": "<abc@unimatch.local>",
        "unsubscribe_url": "https://u.example/users/api/unsubscribe/1.x/",
    }
    return OutgoingMail(**(values | fields))


def test_the_message_on_the_wire():
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    raw = build_message(outgoing(), "UniMatch <noreply@unimatch.local>", now).as_bytes()
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Message-ID"] == "<abc@unimatch.local>"
    assert message["Date"] == "Wed, 02 Jan 2030 03:04:05 +0000"
    assert message["List-Unsubscribe"] == "<https://u.example/users/api/unsubscribe/1.x/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(message["To"]) == "Анна <anna@example.com>"
    assert message.get_body(("plain",)).get_content().strip() == "Привет"
    assert message.get_body(("html",)).get_content().strip() == "<p>Привет</p>"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    transactional = build_message(outgoing(unsubscribe_url=None), "x@y.z", now)
    assert transactional["List-Unsubscribe"] is None


def test_long_russian_subjects_keep_their_spaces():
    subject = "Ваша встреча в UniMatch: Анна Иванова-Длиннофамильная, Борис Петров-Водкин"
    raw = build_message(outgoing(subject=subject), "x@y.z", datetime.now(UTC)).as_bytes()
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject


@pytest.mark.parametrize(
    "recipient", ["no-at-sign", "a@b.c\r\nBcc: x@y.z", "@example.com", "a@", "a\n@b.c"]
)
def test_an_address_a_header_cannot_carry_is_refused(recipient):
    with pytest.raises(BadAddress):
        build_message(outgoing(recipient=recipient), "x@y.z", datetime.now(UTC))


def test_reset_link_is_built_from_the_public_url():
    composer = MailComposer("https://unimatch.example.org", "UniMatch <noreply@mail.example>")
    event = PasswordResetRequested(
        event_id=uuid4(),
        user_id=3,
        email="a@example.com",
        uid="Mw",
        token="a/b c",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    mail = composer.password_reset(event, "Анна")
    assert "https://unimatch.example.org/password-reset/Mw/a%2Fb%20c" in mail.text_body
    assert mail.message_id.endswith("@mail.example>")
    assert mail.idempotency_key == f"{event.event_id}:3"
    assert mail.unsubscribe_url is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("smtp_url", "http://mail.example.org"),
        ("smtp_url", "smtp://"),
        ("mail_from", "not an address"),
        ("mail_from", "UniMatch <a@b.c>\r\nBcc: x@y.z"),
        ("mail_messages_per_second", 0),
    ],
)
def test_mail_settings_refuse_what_cannot_work(field, value):
    with pytest.raises(ValueError):
        NotifierSettings(**{field: value})


def test_mail_settings_accept_both_schemes_with_credentials():
    settings = NotifierSettings(
        smtp_url="smtps://user%40x:p%3Ass@mail.example.org:465",
        mail_from="UniMatch <noreply@unimatch.example.org>",
        unimatch_public_url="https://unimatch.example.org/",
    )
    assert settings.smtp_url is not None and settings.smtp_url.scheme == "smtps"
    assert settings.mail_from_address == "noreply@unimatch.example.org"
    assert settings.unimatch_public_url == "https://unimatch.example.org"


class _Runtime:
    """Just enough of a runtime for the sender to ask for units of work."""

    def unit_of_work(self) -> object:
        return object()


async def test_an_outcome_is_recorded_once_the_database_answers_again(monkeypatch):
    """A mail sent while the database went away is recorded when it is back, not left
    claimed (which would send it again at the next start)."""
    attempts = []

    async def flaky_record(uow, mail, outcome, reply, max_attempts, max_delay):
        attempts.append(outcome)
        if len(attempts) < 3:
            raise ConnectionRefusedError("database down")
        return "sent"

    monkeypatch.setattr(sender_module.mail_service, "record_outcome", flaky_record)
    monkeypatch.setattr(sender_module, "grow_backoff", lambda current, cap: 0.0)
    sender = sender_module.MailSender(_Runtime(), NotifierSettings())
    assert await sender._record(outgoing(id=7), Outcome.SENT, "") == "sent"
    assert attempts == [Outcome.SENT] * 3
