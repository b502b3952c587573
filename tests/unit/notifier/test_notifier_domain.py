"""The notifier's rules that need no server: widget signatures, texts, the rate limiter."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from notifier_service.domain import texts
from notifier_service.domain.rate_limit import Kind, RateLimiter
from notifier_service.domain.widget import is_valid_login
from notifier_service.settings import NotifierSettings

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
NOW = datetime(2025, 4, 27, 12, 0, tzinfo=UTC)


def signed(fields: dict, token: str = TOKEN) -> dict:
    """Telegram's algorithm, written out independently of the code under test."""
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hashlib.sha256(token.encode()).digest()
    return {**fields, "hash": hmac.new(key, check.encode(), hashlib.sha256).hexdigest()}


LOGIN = signed(
    {
        "id": 987654321,
        "first_name": "Анна",
        "last_name": "Иванова",
        "username": "anna_i",
        "photo_url": "https://t.me/i/userpic/320/anna.jpg",
        "auth_date": int(NOW.timestamp()) - 60,
    }
)


def test_a_login_telegram_signed_is_valid():
    assert is_valid_login(LOGIN, TOKEN, NOW)


def test_email_added_by_the_client_is_not_signed():
    assert is_valid_login({**LOGIN, "email": "anna@example.com"}, TOKEN, NOW)


@pytest.mark.parametrize(
    "login",
    [
        {**LOGIN, "first_name": "Мария"},  # tampered field
        {**LOGIN, "id": 1},
        {**LOGIN, "is_premium": True},  # a field Telegram never signed
        {k: v for k, v in LOGIN.items() if k != "username"},  # a signed field dropped
        {k: v for k, v in LOGIN.items() if k != "hash"},  # no hash at all
        {**LOGIN, "hash": "0" * 64},
        {**LOGIN, "hash": "é" * 64},  # non-ASCII: compare_digest would raise
        {**LOGIN, "extra": "\udac5"},  # a lone surrogate cannot be UTF-8 encoded
    ],
)
def test_tampered_or_unsigned_logins_are_refused(login):
    assert not is_valid_login(login, TOKEN, NOW)


def test_another_bots_signature_is_refused():
    assert not is_valid_login(LOGIN, "654321:another-bot-token", NOW)


def test_logins_older_than_a_day_are_refused():
    day_old = signed(
        {
            **{k: v for k, v in LOGIN.items() if k != "hash"},
            "auth_date": int((NOW - timedelta(hours=24, seconds=1)).timestamp()),
        }
    )
    assert not is_valid_login(day_old, TOKEN, NOW)
    assert is_valid_login(day_old, TOKEN, NOW - timedelta(seconds=2))


def test_announcement_names_partner_contact_and_shared_hobbies():
    partner = {"first_name": "Боб", "last_name": "Петров", "email": "bob@example.com"}
    text = texts.announcement([{**partner, "username": "bob_p"}], ["Музыка", "Спорт"])
    assert "новая пара" in text
    assert "Боб Петров — Telegram: @bob_p" in text
    assert "Общие увлечения: Музыка, Спорт." in text
    assert "почта: bob@example.com" in texts.announcement([{**partner, "username": None}], [])


def test_a_trio_is_told_about_both_partners():
    people = [
        {"first_name": "A", "last_name": "", "email": "a@example.com", "username": None},
        {"first_name": "", "last_name": "", "email": "b@example.com", "username": "b"},
    ]
    text = texts.announcement(people, [])
    assert "вас трое" in text and "• A — почта: a@example.com" in text
    assert "• b@example.com — Telegram: @b" in text
    assert "Общих увлечений не нашлось" in text


def test_help_lists_every_command():
    assert all(f"/{command}" in texts.HELP for command in texts.COMMANDS)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_thirty_per_second_overall():
    clock = Clock()
    limiter = RateLimiter(per_second=30, margin=0.0, clock=clock)
    for chat in range(30):
        assert limiter.delay(chat) == 0
        limiter.take(chat)
    assert limiter.delay(99) == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.delay(99) == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.delay(99) == 0


def test_rate_limiter_allows_one_per_chat_per_second():
    clock = Clock()
    limiter = RateLimiter(chat_interval=1.0, margin=0.05, clock=clock)
    limiter.take(7)
    assert limiter.delay(7) == pytest.approx(1.05)
    assert limiter.delay(8) == 0
    clock.now += 1.05
    assert limiter.delay(7) == 0


def test_retry_after_pauses_everything():
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    limiter.pause(3)
    assert limiter.delay(1) == pytest.approx(3)
    clock.now += 3
    assert limiter.delay(1) == 0


async def test_acquire_waits_for_the_slot():
    limiter = RateLimiter(per_second=2, chat_interval=0.0, margin=0.0)
    await limiter.acquire(1)
    await limiter.acquire(2)
    assert limiter.delay(3) > 0.9


async def test_acquire_takes_the_slot_after_before_taking_and_only_if_still_free():
    """What runs before taking (the lease's fence, a database round trip) comes before the
    slot is taken, so its delay never sits between the slot and the send; a slot another
    sender took meanwhile is waited for again."""
    limiter = RateLimiter(per_second=1, chat_interval=0.0, margin=0.0)
    free_when_asked = []

    async def check() -> None:
        free_when_asked.append(limiter.delay(1) == 0)
        if len(free_when_asked) == 1:
            limiter.take(2)  # another sender took the only slot meanwhile

    await limiter.acquire(1, before_taking=check)
    assert free_when_asked == [True, True]  # asked again once the slot was free again
    assert limiter.delay(3) > 0.9  # and the slot taken after the second check


async def test_acquire_takes_nothing_when_before_taking_refuses():
    limiter = RateLimiter(per_second=1, chat_interval=0.0, margin=0.0)

    async def refuse() -> None:
        raise PermissionError("lease lost")

    with pytest.raises(PermissionError):
        await limiter.acquire(1, before_taking=refuse)
    assert limiter.delay(1) == 0


def test_replies_and_announcements_each_have_their_share():
    clock = Clock()
    limiter = RateLimiter(per_second=30, margin=0.0, clock=clock, replies_per_second=5)
    for chat in range(5):
        limiter.take(chat, Kind.REPLY)
    # The replies' share is spent; announcements still have all of theirs.
    assert limiter.delay(99, Kind.REPLY) == pytest.approx(1.0)
    for chat in range(100, 125):
        assert limiter.delay(chat, Kind.ANNOUNCEMENT) == 0
        limiter.take(chat, Kind.ANNOUNCEMENT)
    assert limiter.delay(99, Kind.ANNOUNCEMENT) == pytest.approx(1.0)
    clock.now += 1.0
    # A round's announcements leave the replies theirs too.
    for chat in range(200, 225):
        limiter.take(chat, Kind.ANNOUNCEMENT)
    assert limiter.delay(99, Kind.REPLY) == 0


def test_the_per_chat_interval_and_a_pause_hold_for_both_kinds():
    clock = Clock()
    limiter = RateLimiter(chat_interval=1.0, margin=0.0, clock=clock, replies_per_second=5)
    limiter.take(7, Kind.ANNOUNCEMENT)
    assert limiter.delay(7, Kind.REPLY) == pytest.approx(1.0)
    limiter.pause(3)
    assert limiter.delay(8, Kind.REPLY) == pytest.approx(3)
    assert limiter.delay(8, Kind.ANNOUNCEMENT) == pytest.approx(3)


def test_the_replies_share_is_part_of_the_overall_limit():
    with pytest.raises(ValueError):
        RateLimiter(per_second=30, replies_per_second=30)
    with pytest.raises(ValidationError, match="TELEGRAM_REPLIES_PER_SECOND"):
        NotifierSettings(telegram_messages_per_second=10, telegram_replies_per_second=10)
    assert NotifierSettings().telegram_replies_per_second == 5
