"""Mail: announcements on the channels each user chose, the one-click unsubscribe, the mails
other services ask for, and delivery through a real SMTP server (aiosmtpd, started by the
test) that goes down, refuses for now or for good (docs/adr/021-email-delivery.md)."""

import asyncio
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from urllib.parse import urlsplit

import pytest
from pydantic_core import Url

from notifier_service import bot_service, service
from notifier_service.adapters.db.tables import DELETED_PARTNER
from notifier_service.domain.rate_limit import RateLimiter
from notifier_service.mail import sender as mail_sender
from notifier_service.main import create_app
from tests.conftest import running_app
from tests.integration.notifier.helpers import link_chats, pair_created
from tests.support.helpers import eventually, publish, query, race
from tests.support.mail_catcher import MailCatcher, self_signed_tls
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailChangeRequested,
    Event,
    MeetingFeedback,
    PairCreated,
    PasswordResetRequested,
    ProfileChanged,
    RoundSkipped,
)


def chat_of(user_id: int) -> int:
    return 500_000 + user_id


def profile(user_id: int, name: str, channels=None, email: str | None = None) -> ProfileChanged:
    return ProfileChanged(
        user_id=user_id,
        email=email or f"{name}@example.com",
        first_name=name,
        last_name="Тестов",
        hobbies=[],
        channels=channels,
    )


async def consumed(env, nc, *events: Event) -> None:
    """Publish ``events`` and wait until the notifier has consumed them."""
    await send(env, nc, *events)
    ids = [e.event_id for e in events]

    async def done():
        sql = "select count(*) from processed_event where event_id = any(%s)"
        return (await query(env.database_url, "notifier", sql, ids))[0][0] == len(ids)

    await eventually(done, "the notifier applies the events")


def neighbours_paired(users: list[int]) -> list[PairCreated]:
    """A round pairing each user with the next one (``users`` of even length)."""
    return [pair_created(a, (a, f"user{a}"), (a + 1, f"user{a + 1}")) for a in users[::2]]


async def send(env, nc, *events: Event) -> None:
    for event in events:
        await publish(nc.jetstream(), env.event_prefix, event)


async def mail_rows(env, sql: str, *params) -> list[tuple]:
    return await query(env.database_url, "notifier", sql, *params)


async def test_each_member_hears_on_the_channels_they_chose(
    env, mail_settings, telegram, catcher, nc
):
    people = [
        profile(1, "anna"),  # linked, default: Telegram only
        profile(2, "boris"),  # not linked, default: email only
        profile(3, "vera", ["telegram", "email"]),  # linked: both
        profile(4, "gleb", ["email"]),  # linked, email only
        profile(5, "dina", []),  # linked, none
        profile(6, "egor", ["telegram"]),  # Telegram chosen but not linked: nothing
    ]
    async with running_app(create_app(mail_settings)):
        await link_chats(env.database_url, {u: chat_of(u) for u in (1, 3, 4, 5)})
        await consumed(env, nc, *people)
        await send(
            env,
            nc,
            pair_created(1, (1, "anna"), (2, "boris")),
            pair_created(2, (3, "vera"), (4, "gleb")),
            pair_created(3, (5, "dina"), (6, "egor")),
        )
        await eventually(lambda: len(catcher.received) >= 3 and len(telegram.sent) >= 2)
        await asyncio.sleep(1.5)  # nothing more arrives
    assert Counter(s.chat_id for s in telegram.sent) == {chat_of(1): 1, chat_of(3): 1}
    assert Counter(m.to for m in catcher.received) == {
        "boris@example.com": 1,
        "vera@example.com": 1,
        "gleb@example.com": 1,
    }
    [mail] = catcher.to("boris@example.com")
    headers = mail.message
    assert headers["Subject"] == "Ваша пара в UniMatch: anna Тестов"
    assert headers["To"] == "boris <boris@example.com>"
    assert headers["From"] == mail_settings.mail_from
    assert headers["Message-ID"].endswith("@unimatch.local>")
    assert headers["Date"]
    unsubscribe = headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://unimatch.example.org/users/api/unsubscribe/2.")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "anna Тестов — почта: anna@example.com" in mail.text()
    assert "Общие увлечения: Музыка." in mail.text()
    assert unsubscribe.strip("<>") in mail.text()
    assert "<li>anna Тестов" in mail.html()
    statuses = await mail_rows(env, "select status, attempts from outgoing_mail")
    assert statuses == [("sent", 0)] * 3


async def test_one_click_unsubscribe_turns_email_off(env, mail_settings, telegram, catcher, nc):
    people = [profile(11, "zoya"), profile(12, "ivan")]
    async with running_app(create_app(mail_settings)) as notifier:
        await consumed(env, nc, *people)
        await send(env, nc, pair_created(11, (11, "zoya"), (12, "ivan")))
        await eventually(lambda: len(catcher.received) == 2)
        link = catcher.to("zoya@example.com")[0].message["List-Unsubscribe"].strip("<>")
        path = urlsplit(link).path

        page = await notifier.get(path)
        assert page.status_code == 200
        assert '<form method="post">' in page.text
        assert await mail_rows(env, "select 1 from outbox_message") == []  # a GET changes nothing

        assert (await notifier.post(path[:-3] + "AAA/")).status_code == 404
        assert (await notifier.post(path.replace("/11.", "/12."))).status_code == 404
        assert (await notifier.get("/users/api/unsubscribe/garbage/")).status_code == 404

        one_click = await notifier.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200
        assert one_click.json() == {"unsubscribed": True}
        in_a_browser = await notifier.post(path, headers={"Accept": "text/html"})
        assert in_a_browser.status_code == 200
        assert "Готово" in in_a_browser.text

        # Profile hears of it once; the next round mails only the one still subscribed.
        events = await mail_rows(
            env, "select payload from outbox_message where subject = 'email.unsubscribed'"
        )
        assert len(events) == 1
        assert '"user_id":11' in events[0][0]
        await send(env, nc, pair_created(12, (11, "zoya"), (12, "ivan")))
        await eventually(lambda: len(catcher.received) == 3)
        await asyncio.sleep(1)
    assert Counter(m.to for m in catcher.received) == {
        "zoya@example.com": 1,
        "ivan@example.com": 2,
    }
    [(channels,)] = await mail_rows(env, "select channels from member where user_id = 11")
    assert channels == []


async def test_smtp_down_then_up_loses_and_repeats_nothing(env, mail_settings, catcher, nc):
    await catcher.stop()
    users = list(range(21, 41))
    people = [profile(u, f"user{u}") for u in users]
    async with running_app(create_app(mail_settings)):
        await consumed(env, nc, *people)
        await consumed(env, nc, *neighbours_paired(users))

        async def tried():
            sql = "select count(*) from outgoing_mail where last_error is not null"
            return (await mail_rows(env, sql))[0][0]

        await eventually(tried, "the sender meets the server down")
        await catcher.start()
        await eventually(lambda: len(catcher.received) >= len(users), timeout=60)
        await asyncio.sleep(1)
    assert Counter(m.to for m in catcher.received) == {f"user{u}@example.com": 1 for u in users}
    assert await mail_rows(env, "select distinct status, attempts from outgoing_mail") == [
        ("sent", 0)
    ]


async def test_temporary_refusal_is_retried_and_permanent_one_recorded(
    env, mail_settings, catcher, nc
):
    settings = mail_settings.model_copy(update={"mail_max_attempts": 2})
    catcher.refuse["later@example.com"] = "451 4.3.0 Try again later"
    catcher.refuse["never@example.com"] = "452 4.2.2 Mailbox full"
    catcher.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    people = [profile(51, "later"), profile(52, "nobody"), profile(53, "never")]
    async with running_app(create_app(settings)):
        await consumed(env, nc, *people)
        await send(
            env,
            nc,
            pair_created(51, (51, "later"), (52, "nobody")),
            pair_created(53, (53, "never")),
        )

        async def refused_once():
            sql = "select count(*) from outgoing_mail where last_error is not null"
            return (await mail_rows(env, sql))[0][0] == 3

        await eventually(refused_once)
        del catcher.refuse["later@example.com"]
        await eventually(lambda: catcher.to("later@example.com"))

        async def given_up():
            sql = "select status from outgoing_mail where recipient = 'never@example.com'"
            return (await mail_rows(env, sql)) == [("failed",)]

        await eventually(given_up)
        await asyncio.sleep(1.5)  # the refused ones are not tried again
    rows = await mail_rows(
        env, "select recipient, status, attempts, last_error from outgoing_mail order by 1"
    )
    later, never, nobody = rows
    assert later[:3] == ("later@example.com", "sent", 1)
    assert later[3].startswith("451")
    assert never[:3] == ("never@example.com", "failed", 2)
    assert never[3].startswith("gave up after 2 attempts: 452")
    assert nobody[:3] == ("nobody@example.com", "failed", 0)
    assert nobody[3].startswith("550")
    assert catcher.to("nobody@example.com") == catcher.to("never@example.com") == []
    assert catcher.recipients_seen["nobody@example.com"] == 1
    assert catcher.recipients_seen["never@example.com"] == 2


async def test_names_cannot_inject_headers(env, mail_settings, catcher, nc):
    evil = "Eve\r\nBcc: victim@example.org\r\nSubject: pwned"
    people = [profile(61, "mark"), profile(62, evil, email="eve@example.com")]
    async with running_app(create_app(mail_settings)):
        await consumed(env, nc, *people)
        await send(env, nc, pair_created(61, (61, "mark"), (62, evil)))
        await eventually(lambda: len(catcher.received) == 2)
    for mail in catcher.received:
        assert mail.recipients == [mail.to]
        assert mail.message.get_all("Bcc") is None
        assert len(mail.message.get_all("Subject")) == 1
        assert "\n" not in mail.message["Subject"] and "\r" not in mail.message["Subject"]
        assert "\r\nBcc:" not in mail.raw.decode(errors="replace").split("\r\n\r\n")[0]
    assert catcher.to("mark@example.com")[0].message["Subject"] == (
        "Ваша пара в UniMatch: Eve Bcc: victim@example.org Subject: pwned Тестов"
    )
    assert catcher.to("eve@example.com")[0].message["To"].addresses[0].display_name == (
        "Eve Bcc: victim@example.org Subject: pwned"
    )


async def test_mails_other_services_ask_for(env, mail_settings, telegram, catcher, nc):
    expires = datetime(2030, 5, 1, 10, 15, tzinfo=UTC)
    people = [profile(71, "olga"), profile(72, "petr"), profile(73, "rita")]
    async with running_app(create_app(mail_settings)):
        await link_chats(env.database_url, {73: chat_of(73)})
        await consumed(env, nc, *people)
        reset = PasswordResetRequested(
            user_id=71, email="olga@example.com", uid="NzE", token="c5x-9f2a", expires_at=expires
        )
        change = EmailChangeRequested(
            user_id=72, new_email="petr.new@example.com", token="tok-en", expires_at=expires
        )
        await send(env, nc, reset, change)
        await send(env, nc, reset)  # a redelivery queues nothing more
        await eventually(lambda: len(catcher.received) == 2)

        moved = AccountEmailChanged(user_id=72, email="petr.new@example.com")
        gone = AccountDeleted(user_id=71)
        await consumed(env, nc, moved, gone)
        skipped = [RoundSkipped(round_id=5, user_id=u) for u in (71, 72, 73)]
        await send(env, nc, *skipped)
        await eventually(lambda: len(catcher.received) == 3)
        await eventually(lambda: telegram.messages_to(chat_of(73)))
        await asyncio.sleep(1)
    [reset_mail] = catcher.to("olga@example.com")
    assert reset_mail.message["Subject"] == "UniMatch: восстановление пароля"
    link = "https://unimatch.example.org/password-reset/NzE/c5x-9f2a"
    assert link in reset_mail.text()
    assert f'href="{link}"' in reset_mail.html()
    assert "01.05.2030 10:15 UTC" in reset_mail.text()
    assert reset_mail.message["List-Unsubscribe"] is None
    [change_mail, skipped_mail] = catcher.to("petr.new@example.com")
    assert change_mail.message["Subject"] == "UniMatch: подтвердите новый адрес почты"
    assert "https://unimatch.example.org/confirm-email/tok-en" in change_mail.text()
    # Round skipped: mailed at the confirmed new address; nothing to the deleted account
    # (forgotten); the Telegram user is told there, not mailed (email off by default).
    assert skipped_mail.message["Subject"] == "UniMatch: в этот раз пару подобрать не удалось"
    assert skipped_mail.message["List-Unsubscribe"]
    assert catcher.to("rita@example.com") == []
    [told] = telegram.messages_to(chat_of(73))  # on Telegram instead, her channel
    assert told.startswith("В этом раунде пару подобрать не получилось")


async def test_restart_mid_batch_sends_every_mail_once(env, mail_settings, catcher, nc):
    settings = mail_settings.model_copy(update={"mail_messages_per_second": 20})
    users = list(range(101, 161))  # 60 mails: three seconds at 20 a second
    people = [profile(u, f"user{u}") for u in users]
    async with running_app(create_app(settings)):
        await consumed(env, nc, *people)
        await send(env, nc, *neighbours_paired(users))
        await eventually(lambda: len(catcher.received) >= 10)
    stopped_at = len(catcher.received)
    assert stopped_at < len(users), "the batch finished before the stop; make it longer"
    async with running_app(create_app(settings)):
        await eventually(lambda: len(catcher.received) >= len(users))
        await asyncio.sleep(1)
    assert Counter(m.to for m in catcher.received) == {f"user{u}@example.com": 1 for u in users}
    ids = Counter(m.message["Message-ID"] for m in catcher.received)
    assert set(ids.values()) == {1}


async def test_mails_are_paced(env, mail_settings, catcher, nc, monkeypatch):
    """With the limiter's clock stopped, exactly one second's worth of mails goes out."""
    monkeypatch.setattr(mail_sender, "RateLimiter", partial(RateLimiter, clock=lambda: 0.0))
    settings = mail_settings.model_copy(update={"mail_messages_per_second": 3})
    users = list(range(201, 211))
    people = [profile(u, f"user{u}") for u in users]
    async with running_app(create_app(settings)):
        await consumed(env, nc, *people)
        await send(env, nc, *neighbours_paired(users))
        await eventually(lambda: len(catcher.received) == 3)
        await asyncio.sleep(1.5)  # the others wait for a second that never comes
        assert len(catcher.received) == 3


# aiosmtpd warns about AUTH without STARTTLS: with smtps:// TLS is there from the first byte,
# and the refused-login test needs no TLS at all.
NO_STARTTLS_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@NO_STARTTLS_WARNING
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["smtp+STARTTLS", "smtps"])
async def test_tls_and_the_login_in_the_url(
    env, mail_settings, nc, tmp_path, monkeypatch, implicit_tls
):
    """smtp:// upgrades with STARTTLS when offered (here: required), smtps:// is TLS from the
    start; the certificate is checked (trusted here through SSL_CERT_FILE); the user and
    password come from the URL, percent-decoded."""
    context, certificate = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    server = MailCatcher(tls=context, implicit_tls=implicit_tls, login=("mailer", "p@ss:w0rd"))
    scheme = "smtps" if implicit_tls else "smtp"
    settings = mail_settings.model_copy(
        update={"smtp_url": Url(f"{scheme}://mailer:p%40ss%3Aw0rd@localhost:{server.port}")}
    )
    people = [profile(301, "tanya"), profile(302, "uliana")]
    async with server, running_app(create_app(settings)):
        await consumed(env, nc, *people)
        await send(env, nc, pair_created(301, (301, "tanya"), (302, "uliana")))
        try:
            await eventually(lambda: len(server.received) == 2, timeout=60)
        except AssertionError as exc:  # say what the sender met
            errors = await mail_rows(env, "select status, last_error from outgoing_mail")
            raise AssertionError(f"{exc}; the outbox: {errors}") from None
    assert server.secure_sessions == 2
    assert set(server.logins) == {"mailer"}


@NO_STARTTLS_WARNING
async def test_a_refused_login_keeps_mails_pending(env, mail_settings, nc):
    server = MailCatcher(login=("mailer", "right"))
    settings = mail_settings.model_copy(
        update={"smtp_url": Url(f"smtp://mailer:wrong@127.0.0.1:{server.port}")}
    )
    people = [profile(311, "vlad")]
    async with server, running_app(create_app(settings)):
        await send(env, nc, *people, pair_created(311, (311, "vlad")))

        async def refused():
            sql = "select status, last_error from outgoing_mail"
            rows = await mail_rows(env, sql)
            return rows and rows[0][1] and rows

        [(status, error)] = await eventually(refused)
    assert status == "pending"  # a configuration to fix, not a mail to drop
    assert error.startswith("535")
    assert server.received == []


async def test_a_deleted_account_is_told_nothing_and_kept_nowhere(
    env, mail_settings, telegram, catcher, nc
):
    """A round held just before a deletion, applied after it: the partner hears, with the
    deleted user in the partner's place; the deleted account gets no mail, no follow-up and
    no history, and a late ``profile.changed`` does not bring it back."""
    async with running_app(create_app(mail_settings)):
        await link_chats(env.database_url, {81: chat_of(81)})  # Telegram; 82 has email
        await consumed(env, nc, profile(81, "sasha"), profile(82, "tima"))
        await consumed(env, nc, AccountDeleted(user_id=82))
        late = [
            pair_created(91, (81, "sasha"), (82, "tima")),
            profile(82, "tima"),
            RoundSkipped(round_id=1, user_id=82),
        ]
        await consumed(env, nc, *late)
        await eventually(lambda: telegram.messages_to(chat_of(81)))
        await asyncio.sleep(1)  # a mail would have gone by now
    [told] = telegram.messages_to(chat_of(81))
    assert "удалённый пользователь" in told and "tima" not in told
    assert catcher.received == []
    assert await kept_of(env, 82) == [(0,)]


async def kept_of(env, user_id: int) -> list[tuple]:
    """How many rows about the user the notifier keeps, mails still to go included."""
    return await mail_rows(
        env,
        "select (select count(*) from pair_view where user_id = %s)"
        " + (select count(*) from member where user_id = %s)"
        " + (select count(*) from follow_up where user_id = %s)"
        " + (select count(*) from outgoing_mail where user_id = %s and status = 'pending')",
        *[user_id] * 4,
    )


# Events about user 82 that deleting 82 must not leave behind.
ABOUT_82 = {
    "match": lambda uow, mail: service.on_pair_created(
        uow, pair_created(91, (81, "sasha"), (82, "tima")), mail
    ),
    "round skipped": lambda uow, mail: service.on_round_skipped(
        uow, RoundSkipped(round_id=1, user_id=82), mail
    ),
    "profile change": lambda uow, mail: service.on_profile_changed(uow, profile(82, "tima")),
    "answer": lambda uow, mail: bot_service.on_meeting_feedback(
        uow, MeetingFeedback(user_id=82, round_id=1, group_id=91, met="yes")
    ),
}


@pytest.mark.parametrize("event", ABOUT_82)
@pytest.mark.parametrize("deletion_first", [True, False], ids=["deletion first", "event first"])
async def test_a_deletion_racing_an_event_about_the_account_leaves_nothing(
    env, mail_settings, nc, event, deletion_first
):
    """``account.deleted`` and the events about a person are separate consumers and may
    apply at the same moment: whichever transaction writes first, no mail stays queued for
    the deleted account and nothing of theirs is kept; their partner's view names them as
    deleted."""
    app = create_app(mail_settings)
    async with running_app(app):
        await consumed(env, nc, profile(81, "sasha"), profile(82, "tima"))
        mail = app.state.mail
        steps = [
            lambda uow: bot_service.on_account_deleted(uow, AccountDeleted(user_id=82)),
            lambda uow: ABOUT_82[event](uow, mail),
        ]
        if not deletion_first:
            steps.reverse()
        await race(app.state.runtime, env.database_url, *steps)
    assert await kept_of(env, 82) == [(0,)]
    if event == "match":
        [(partners,)] = await mail_rows(env, "select partners from pair_view where user_id = 81")
        assert partners == [DELETED_PARTNER]
