"""Auth's use cases (service.py, mailed_links.py, web_sessions.py) on the in-memory unit of
work: no PostgreSQL, no NATS."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pwdlib.hashers.argon2 import Argon2Hasher

from auth_service import mailed_links, service
from auth_service.adapters.db.tables import AuthToken, MailedToken
from auth_service.api.errors import (
    WEB_BAD_CREDENTIALS,
    WEB_EMAIL_TAKEN,
    WEB_INVALID_EMAIL_LINK,
    WEB_INVALID_RESET_LINK,
    WEB_INVALID_TELEGRAM,
    WEB_TELEGRAM_NOT_CONFIGURED,
    WEB_UNKNOWN_HOBBY,
    as_http_error,
)
from auth_service.domain.errors import (
    BAD_CREDENTIALS,
    INVALID_LINK,
    INVALID_TELEGRAM_LOGIN,
    TELEGRAM_NOT_CONFIGURED,
    BadCredentials,
    EmailTaken,
    InvalidLink,
    NoAccount,
    NoWebSession,
    ProfileRefused,
    TelegramLoginRefused,
    TelegramNotConfigured,
)
from auth_service.domain.mailed_tokens import EMAIL_CHANGE, PASSWORD_RESET, encode_uid
from auth_service.domain.passwords import NO_PASSWORD, hash_password, verify_password
from auth_service.events.handlers import _reply
from auth_service.web_sessions import WebSessions, forget_finished_web_sessions
from tests.unit.auth.fakes import (
    FakeAuthUnitOfWork,
    FakeLookups,
    FakeSessionStore,
    InlineHashing,
)
from tests.unit.fakes import FakeMessaging
from unimatch_shared import access_tokens
from unimatch_shared.errors import EMAIL_TAKEN, Invalid, ServiceUnavailable, TryLater
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailChangeRequested,
    PasswordResetRequested,
    UserRegistered,
)
from unimatch_shared.rpc import (
    CreateProfileReply,
    EmailChangeReply,
    JoinByTelegram,
    JoinByTelegramReply,
    TelegramUserReply,
)
from unimatch_shared.schemas import TelegramLogin
from unimatch_shared.sessions import Session, token_digest

EMAIL = "ann@example.com"
PASSWORD = "correct horse"
CLIENT = "203.0.113.7"
PROFILE = CreateProfileReply(user={"id": 1}, web_user={"id": 1})
KEY = Ed25519PrivateKey.generate()
GRACE = timedelta(seconds=10)
HOUR = timedelta(hours=1)


@pytest.fixture
def uow() -> FakeAuthUnitOfWork:
    return FakeAuthUnitOfWork()


@pytest.fixture
def store() -> FakeSessionStore:
    return FakeSessionStore()


@pytest.fixture
def hashing() -> InlineHashing:
    return InlineHashing()


@pytest.fixture
def web() -> WebSessions:
    return WebSessions(KEY, timedelta(minutes=5), timedelta(days=7), GRACE)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(service, "TAKEN_EMAIL_PAUSE_SECONDS", 0)


def account(uow: FakeAuthUnitOfWork, email: str = EMAIL, password: str = PASSWORD, **kw):
    return uow.accounts.create(email, hash_password(password), **kw)


def published(uow: FakeAuthUnitOfWork, kind: type) -> list:
    return [e for e in uow.published if isinstance(e, kind)]


async def log_in(uow, store, hashing, password=PASSWORD, client=CLIENT, **kw) -> service.Login:
    return await service.log_in(uow, store, hashing, EMAIL, password, client, **kw)


# register


async def test_register_stores_the_account_opens_a_session_and_announces_it(uow, store, hashing):
    messaging = FakeMessaging(CreateProfile=PROFILE)
    profile = {"first_name": "Ann", "hobby": [1]}
    reply, token = await service.register(
        uow, messaging, store, hashing, FakeLookups(uow), EMAIL, PASSWORD, profile
    )
    assert reply == PROFILE
    [stored] = uow.accounts.rows.values()
    assert stored.email == EMAIL and verify_password(PASSWORD, stored.password_hash)[0]
    assert messaging.sent[0].user_id == stored.id and messaging.sent[0].first_name == "Ann"
    assert store.entries[token_digest(token)][0].user_id == stored.id
    assert uow.seed_tokens.rows[token_digest(token)].user_id == stored.id
    [registered] = published(uow, UserRegistered)
    assert (registered.user_id, registered.email, registered.hobby) == (stored.id, EMAIL, [1])


async def test_register_opens_the_session_open_session_opens(uow, store, hashing, web):
    messaging = FakeMessaging(CreateProfile=PROFILE)
    _, refresh = await service.register(
        uow, messaging, store, hashing, FakeLookups(uow), EMAIL, PASSWORD, {}, web.open
    )
    assert token_digest(refresh) in uow.web_sessions.tokens
    assert not store.entries and not uow.seed_tokens.rows


async def test_register_refuses_a_taken_email_before_hashing(uow, store, hashing):
    account(uow)
    hashing.overloaded = True  # any hashing would fail with 503
    messaging = FakeMessaging(CreateProfile=PROFILE)
    with pytest.raises(EmailTaken):
        await service.register(
            uow, messaging, store, hashing, FakeLookups(uow), EMAIL, PASSWORD, {}
        )
    assert not messaging.sent and uow.commits == 0


async def test_register_refuses_an_email_taken_meanwhile(uow, store, hashing):
    class Stale(FakeLookups):
        async def email_taken(self, email: str) -> bool:
            return False

    account(uow)
    with pytest.raises(EmailTaken):
        await service.register(
            uow, FakeMessaging(CreateProfile=PROFILE), store, hashing, Stale(uow), EMAIL, "pw", {}
        )
    assert uow.commits == 0


async def test_register_refused_by_profile_commits_nothing(uow, store, hashing):
    errors = {"hobby": ['Invalid pk "9" - object does not exist.']}
    messaging = FakeMessaging(CreateProfile=CreateProfileReply(errors=errors))
    with pytest.raises(ProfileRefused) as refused:
        await service.register(
            uow, messaging, store, hashing, FakeLookups(uow), EMAIL, PASSWORD, {"hobby": [9]}
        )
    assert refused.value.errors == errors
    assert uow.commits == 0 and not uow.published and not store.entries


async def test_register_with_profile_unreachable_commits_nothing(uow, store, hashing):
    with pytest.raises(ServiceUnavailable):
        await service.register(
            uow, FakeMessaging(), store, hashing, FakeLookups(uow), EMAIL, PASSWORD, {}
        )
    assert uow.commits == 0 and not uow.published


# log_in


async def test_log_in_opens_a_session_and_trusts_the_device(uow, store, hashing):
    owner = account(uow, is_staff=True)
    login = await log_in(uow, store, hashing)
    assert (login.user_id, login.is_staff) == (owner.id, True)
    assert store.entries[token_digest(login.token)][0].is_staff
    assert token_digest(login.token) in uow.seed_tokens.rows
    assert (token_digest(login.device), owner.id) in uow.attempts.devices
    assert not uow.attempts.logins  # the attempt, recorded first, is forgiven
    assert uow.locks == [f"auth.login.email:{EMAIL}", f"auth.login.network:{CLIENT}"]
    assert uow.commits == 2


async def test_log_in_normalises_the_email(uow, store, hashing):
    owner = account(uow)
    login = await service.log_in(uow, store, hashing, "  Ann@Example.COM ", PASSWORD, CLIENT)
    assert login.user_id == owner.id


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.com"])
async def test_a_failed_login_is_refused_alike_and_counted(uow, store, hashing, email):
    account(uow)
    with pytest.raises(BadCredentials):
        await service.log_in(uow, store, hashing, email, "wrong password", CLIENT)
    [failure] = uow.attempts.logins
    assert (failure.email, failure.client) == (email, CLIENT)
    assert not store.entries and not uow.seed_tokens.rows


async def test_a_password_less_account_cannot_log_in(uow, store, hashing):
    uow.accounts.create(EMAIL, NO_PASSWORD)
    with pytest.raises(BadCredentials):
        await log_in(uow, store, hashing, password="")


async def test_log_in_is_throttled_after_five_failures_of_the_pair(uow, store, hashing):
    account(uow)
    for _ in range(5):
        with pytest.raises(BadCredentials):
            await log_in(uow, store, hashing, password="wrong password")
    with pytest.raises(TryLater) as throttled:
        await log_in(uow, store, hashing)
    assert throttled.value.retry_after > 0
    assert len(uow.attempts.logins) == 5  # the refused attempt is not recorded
    # Another client may still try (the email's own limit starts at ten).
    assert await log_in(uow, store, hashing, client="198.51.100.1")


async def test_a_trusted_device_is_not_locked_out_by_others(uow, store, hashing):
    account(uow)
    device = (await log_in(uow, store, hashing)).device
    for octet in range(12):  # guessers on other networks: the email's limit is reached
        with pytest.raises((BadCredentials, TryLater)):
            await log_in(uow, store, hashing, password="guess", client=f"192.0.2.{octet}")
    with pytest.raises(TryLater):
        await log_in(uow, store, hashing, client="198.51.100.1")
    login = await log_in(uow, store, hashing, client="198.51.100.1", device=device)
    assert login.device == device


async def test_an_expired_device_is_not_trusted(uow, store, hashing):
    owner = account(uow)
    device = (await log_in(uow, store, hashing)).device
    uow.attempts.devices[(token_digest(device), owner.id)] -= timedelta(days=2)
    for octet in range(12):
        with pytest.raises((BadCredentials, TryLater)):
            await log_in(uow, store, hashing, password="guess", client=f"192.0.2.{octet}")
    with pytest.raises(TryLater):
        await log_in(uow, store, hashing, device=device, device_lifetime=timedelta(days=1))


async def test_log_in_keeps_the_newest_devices_only(uow, store, hashing):
    owner = account(uow)
    for _ in range(service.DEVICES_PER_ACCOUNT + 3):
        await log_in(uow, store, hashing)
    assert len(uow.attempts.devices) == service.DEVICES_PER_ACCOUNT
    assert all(user_id == owner.id for _, user_id in uow.attempts.devices)


async def test_log_in_replaces_a_hash_made_with_older_parameters(uow, store, hashing):
    old_hash = Argon2Hasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    owner = uow.accounts.create(EMAIL, old_hash)
    await log_in(uow, store, hashing)
    assert owner.password_hash != old_hash
    assert verify_password(PASSWORD, owner.password_hash) == (True, None)


async def test_a_login_shed_before_its_check_is_withdrawn(uow, store, hashing):
    account(uow)
    hashing.overloaded = True
    with pytest.raises(ServiceUnavailable):
        await log_in(uow, store, hashing)
    assert not uow.attempts.logins and not store.entries


async def test_a_login_that_queued_past_its_check_time_is_shed_and_withdrawn(
    uow, store, hashing, monkeypatch
):
    account(uow)
    monkeypatch.setattr(service, "LOGIN_CHECK_SECONDS", 0.0)  # its time went on queueing
    with pytest.raises(ServiceUnavailable):
        await log_in(uow, store, hashing)
    assert not uow.attempts.logins and not store.entries


# log_out, delete_account, sessions' upkeep


async def test_log_out_ends_the_session_everywhere(uow, store, hashing):
    account(uow)
    token = (await log_in(uow, store, hashing)).token
    await service.log_out(uow, store, token)
    assert not store.entries and not uow.seed_tokens.rows


async def test_log_out_with_the_store_unreachable_commits_nothing(uow, store, hashing):
    account(uow)
    token = (await log_in(uow, store, hashing)).token
    commits, store.reachable = uow.commits, False
    with pytest.raises(ServiceUnavailable):
        await service.log_out(uow, store, token)
    assert uow.commits == commits and token_digest(token) in store.entries


async def test_delete_account_ends_its_sessions_and_announces_it(uow, store, hashing, web):
    owner = account(uow)
    await log_in(uow, store, hashing)
    await log_in(uow, store, hashing, open_session=web.open)
    assert await service.delete_account(uow, store, owner.id)
    assert not uow.accounts.rows and not store.entries and not uow.seed_tokens.rows
    assert not uow.web_sessions.sessions and not uow.attempts.devices
    assert [e.user_id for e in published(uow, AccountDeleted)] == [owner.id]


async def test_deleting_an_unknown_account_is_false(uow, store):
    assert not await service.delete_account(uow, store, 404)
    assert uow.commits == 0


async def test_restore_sessions_writes_the_live_ones_to_the_store(uow, store):
    owner = account(uow, is_staff=True)
    await uow.seed_tokens.add("live", owner.id)
    await uow.seed_tokens.add("idle", owner.id)
    uow.seed_tokens.rows["idle"].last_seen_at -= timedelta(seconds=store.idle_seconds + 1)
    assert await service.restore_sessions(uow, store) == 1
    assert list(store.entries) == ["live"] and store.entries["live"][0].is_staff


async def test_renew_session_starts_its_idle_time_again(uow, store):
    owner = account(uow)
    await uow.seed_tokens.add("d", owner.id)
    await store.save("d", Session(user_id=owner.id))
    assert not await service.renew_session(uow, store, "d")  # renewed a moment ago
    stored, revision = store.entries["d"]
    store.entries["d"] = (stored.model_copy(update={"renewed_at": 0.0}), revision)
    row: AuthToken = uow.seed_tokens.rows["d"]
    row.last_seen_at -= HOUR
    assert await service.renew_session(uow, store, "d")
    assert row.last_seen_at > datetime.now(UTC) - timedelta(minutes=1)
    assert store.entries["d"][0].renewed_at > 0 and store.entries["d"][1] != revision


async def test_renew_session_brings_back_no_logged_out_session(uow, store):
    owner = account(uow)
    await uow.seed_tokens.add("d", owner.id)
    assert not await service.renew_session(uow, store, "d")  # no store entry
    assert not await service.renew_session(uow, store, "unknown")
    assert not store.entries and uow.commits == 0


async def test_forget_idle_sessions_deletes_the_unused_rows(uow):
    owner = account(uow)
    for digest in ("a", "b", "c"):
        await uow.seed_tokens.add(digest, owner.id)
    uow.seed_tokens.rows["a"].last_seen_at -= HOUR
    uow.seed_tokens.rows["b"].last_seen_at -= HOUR
    assert await service.forget_idle_sessions(uow, timedelta(minutes=30), batch=1) == 1
    assert await service.forget_idle_sessions(uow, timedelta(minutes=30)) == 1
    assert list(uow.seed_tokens.rows) == ["c"]


# ensure_admin: the operator's account and its password


async def test_ensure_admin_creates_a_staff_account_once(uow, store):
    await service.ensure_admin(uow, store, "Admin@Example.com", PASSWORD)
    await service.ensure_admin(uow, store, "admin@example.com", PASSWORD)
    [admin] = uow.accounts.rows.values()
    assert admin.is_staff and admin.email == "admin@example.com"
    assert [e.email for e in published(uow, UserRegistered)] == ["admin@example.com"]
    assert uow.locks == ["auth.ensure_admin"] * 2


async def test_ensure_admin_promotes_and_changes_the_password(uow, store, hashing, web):
    owner = account(uow)
    seed = await log_in(uow, store, hashing)
    refresh = (await log_in(uow, store, hashing, open_session=web.open)).token
    link = await mailed_links._issue(uow, PASSWORD_RESET, owner.id, datetime.now(UTC) + HOUR)
    await service.ensure_admin(uow, store, EMAIL, "a new password")
    assert owner.is_staff and verify_password("a new password", owner.password_hash)[0]
    assert store.entries[token_digest(seed.token)][0].is_staff  # seed sessions go on, as staff
    assert uow.mailed_tokens.rows[token_digest(link)].used_at is not None
    with pytest.raises(NoWebSession):
        await web.refresh(uow, refresh)


# web sessions: refresh, replay within the grace, reuse after it, logout


async def web_login(uow, store, hashing, web) -> str:
    account(uow)
    return (await log_in(uow, store, hashing, open_session=web.open)).token


async def test_refresh_rotates_the_token(uow, store, hashing, web):
    first = await web_login(uow, store, hashing, web)
    tokens = await web.refresh(uow, first)
    assert tokens.refresh != first
    assert uow.web_sessions.tokens[token_digest(first)].used_at is not None
    assert uow.web_sessions.tokens[token_digest(tokens.refresh)].used_at is None
    claims = access_tokens.verify(tokens.access, KEY.public_key())
    assert claims.user_id == next(iter(uow.accounts.rows))
    assert (await web.refresh(uow, tokens.refresh)).refresh != tokens.refresh


async def test_a_refresh_repeated_within_the_grace_gets_the_same_successor(
    uow, store, hashing, web
):
    first = await web_login(uow, store, hashing, web)
    second = (await web.refresh(uow, first)).refresh
    third = (await web.refresh(uow, second)).refresh
    assert (await web.refresh(uow, first)).refresh == third  # follows the chain
    assert (await web.refresh(uow, second)).refresh == third


async def test_a_spent_token_used_after_the_grace_ends_its_session(uow, store, hashing, web):
    first = await web_login(uow, store, hashing, web)
    current = (await web.refresh(uow, first)).refresh
    uow.web_sessions.tokens[token_digest(first)].used_at -= GRACE + timedelta(seconds=1)
    commits = uow.commits
    with pytest.raises(NoWebSession):
        await web.refresh(uow, first)
    assert uow.commits == commits + 1  # the session's end is committed
    [session] = uow.web_sessions.sessions.values()
    assert session.ended_at is not None
    with pytest.raises(NoWebSession):
        await web.refresh(uow, current)


@pytest.mark.parametrize("presented", ["malformed", "0" * 64])
async def test_refresh_refuses_an_unknown_token(uow, web, presented):
    with pytest.raises(NoWebSession):
        await web.refresh(uow, presented)


async def test_an_expired_token_is_refused(uow, store, hashing, web):
    first = await web_login(uow, store, hashing, web)
    uow.web_sessions.tokens[token_digest(first)].expires_at = datetime.now(UTC)
    with pytest.raises(NoWebSession):
        await web.refresh(uow, first)


async def test_web_logout_ends_the_session(uow, store, hashing, web):
    first = await web_login(uow, store, hashing, web)
    await web.end(uow, first)
    with pytest.raises(NoWebSession):
        await web.refresh(uow, first)
    with pytest.raises(NoWebSession):
        await web.end(uow, "0" * 64)


async def test_forget_finished_web_sessions(uow, store, hashing, web):
    ended = await web_login(uow, store, hashing, web)
    live = (await log_in(uow, store, hashing, open_session=web.open)).token
    spent = (await web.refresh(uow, live)).refresh
    await web.end(uow, ended)
    uow.web_sessions.tokens[token_digest(live)].expires_at -= timedelta(days=8)
    assert await forget_finished_web_sessions(uow) == 2  # the ended session, the expired token
    assert list(uow.web_sessions.tokens) == [token_digest(spent)]


# password reset


async def request_reset(uow, email=EMAIL, client=CLIENT) -> None:
    await mailed_links.request_password_reset(uow, email, client, HOUR)


async def test_a_reset_request_mails_a_link_to_an_account(uow):
    owner = account(uow)
    await request_reset(uow)
    [mail] = published(uow, PasswordResetRequested)
    assert (mail.user_id, mail.email, mail.uid) == (owner.id, EMAIL, encode_uid(owner.id))
    assert uow.mailed_tokens.usable(token_digest(mail.token), PASSWORD_RESET, owner.id)


async def test_a_reset_request_for_no_account_mails_nothing_but_counts(uow):
    await request_reset(uow, "nobody@example.com")
    assert not uow.published and uow.commits == 1 and len(uow.attempts.resets) == 1


async def test_reset_requests_are_throttled_per_address(uow):
    for _ in range(3):
        await request_reset(uow, "nobody@example.com")
    with pytest.raises(TryLater):
        await request_reset(uow, "nobody@example.com", client="198.51.100.1")
    await request_reset(uow, "other@example.com")


async def test_a_reset_sets_the_password_and_ends_everything(uow, store, hashing, web):
    owner = account(uow)
    await log_in(uow, store, hashing)
    refresh = (await log_in(uow, store, hashing, open_session=web.open)).token
    with pytest.raises(BadCredentials):
        await log_in(uow, store, hashing, password="guess", client="192.0.2.1")
    await request_reset(uow)
    await request_reset(uow)
    first, second = (m.token for m in published(uow, PasswordResetRequested))
    uid = encode_uid(owner.id)
    await mailed_links.reset_password(
        uow, store, hashing, FakeLookups(uow), uid, second, "a new password"
    )
    assert verify_password("a new password", owner.password_hash)[0]
    assert not store.entries and not uow.seed_tokens.rows
    assert not uow.attempts.logins
    with pytest.raises(NoWebSession):
        await web.refresh(uow, refresh)
    for spent in (first, second):
        with pytest.raises(InvalidLink):
            await mailed_links.reset_password(
                uow, store, hashing, FakeLookups(uow), uid, spent, "another password"
            )


@pytest.mark.parametrize("uid", ["", "MTI=", "bm90IGEgbnVtYmVy", encode_uid(2)])
async def test_a_reset_with_a_bad_link_is_refused(uow, store, hashing, uid):
    account(uow)
    await request_reset(uow)
    [mail] = published(uow, PasswordResetRequested)
    with pytest.raises(InvalidLink) as refused:
        await mailed_links.reset_password(
            uow, store, hashing, FakeLookups(uow), uid, mail.token, "a new password"
        )
    assert refused.value.purpose == PASSWORD_RESET


async def test_a_reset_with_a_forged_token_is_refused_before_hashing(uow, store, hashing):
    owner = account(uow)
    hashing.overloaded = True
    with pytest.raises(InvalidLink):
        await mailed_links.reset_password(
            uow, store, hashing, FakeLookups(uow), encode_uid(owner.id), "A" * 43, "new pass"
        )


async def test_forget_old_mailed_tokens(uow):
    owner = account(uow)
    now = datetime.now(UTC)
    for digest, expires_at in (("old", now - timedelta(days=2)), ("new", now + HOUR)):
        token = MailedToken(
            digest=digest, purpose=PASSWORD_RESET, user_id=owner.id, expires_at=expires_at
        )
        await uow.mailed_tokens.add(token)
    await request_reset(uow)
    uow.attempts.resets[0].requested_at -= timedelta(days=1)
    assert await mailed_links.forget_old_mailed_tokens(uow) == 2
    assert "old" not in uow.mailed_tokens.rows and "new" in uow.mailed_tokens.rows


# change of email


async def request_change(uow, user_id: int, email: str) -> EmailChangeReply:
    return await mailed_links.request_email_change(uow, user_id, email, HOUR)


async def test_a_change_of_email_mails_a_confirmation_link(uow):
    owner = account(uow)
    reply = await request_change(uow, owner.id, " New@Example.com")
    assert reply.pending_email == "new@example.com" and reply.errors is None
    [mail] = published(uow, EmailChangeRequested)
    assert (mail.user_id, mail.new_email) == (owner.id, "new@example.com")
    assert (await request_change(uow, owner.id, "new@example.com")).pending_email
    assert (await request_change(uow, owner.id, EMAIL)).pending_email == "new@example.com"
    assert len(published(uow, EmailChangeRequested)) == 1  # nothing new to mail


async def test_a_new_address_replaces_the_pending_one(uow):
    owner = account(uow)
    await request_change(uow, owner.id, "one@example.com")
    await request_change(uow, owner.id, "two@example.com")
    first, _ = published(uow, EmailChangeRequested)
    with pytest.raises(InvalidLink):
        await mailed_links.confirm_email_change(uow, first.token)


async def test_changes_of_email_are_limited(uow):
    owner = account(uow)
    for n in range(3):
        await request_change(uow, owner.id, f"n{n}@example.com")
    reply = await request_change(uow, owner.id, "n3@example.com")
    assert reply.retry_after > 0 and reply.pending_email == "n2@example.com"


@pytest.mark.parametrize(
    ("email", "refusal"),
    [("taken@example.com", EmailTaken), ("not an email", Invalid)],
)
async def test_a_change_of_email_is_refused(uow, email, refusal):
    owner = account(uow)
    account(uow, "taken@example.com")
    with pytest.raises(refusal):
        await request_change(uow, owner.id, email)
    assert uow.commits == 0 and not uow.published


async def test_a_change_of_email_of_no_account_is_refused(uow):
    with pytest.raises(NoAccount):
        await request_change(uow, 404, "new@example.com")


async def test_confirming_changes_the_email_once(uow):
    owner = account(uow)
    await request_reset(uow)
    await request_change(uow, owner.id, "new@example.com")
    [change] = published(uow, EmailChangeRequested)
    [reset] = published(uow, PasswordResetRequested)
    assert await mailed_links.confirm_email_change(uow, change.token) == "new@example.com"
    assert owner.email == "new@example.com"
    [changed] = published(uow, AccountEmailChanged)
    assert (changed.user_id, changed.email) == (owner.id, "new@example.com")
    assert uow.mailed_tokens.rows[token_digest(reset.token)].used_at is not None
    with pytest.raises(InvalidLink) as refused:
        await mailed_links.confirm_email_change(uow, change.token)
    assert refused.value.purpose == EMAIL_CHANGE


async def test_confirming_an_address_taken_meanwhile_changes_nothing(uow):
    owner = account(uow)
    await request_change(uow, owner.id, "new@example.com")
    [change] = published(uow, EmailChangeRequested)
    account(uow, "new@example.com")
    commits = uow.commits
    with pytest.raises(EmailTaken):
        await mailed_links.confirm_email_change(uow, change.token)
    assert uow.commits == commits


# the bot's joins


def join(email: str | None = None, telegram_id: int = 42) -> JoinByTelegram:
    return JoinByTelegram(telegram_id=telegram_id, first_name="Ann", hobby=[1], email=email)


async def test_joining_makes_a_password_less_account_once(uow):
    messaging = FakeMessaging(CreateProfile=PROFILE)
    reply = await service.join_by_telegram(uow, messaging, join(EMAIL))
    [joined] = uow.accounts.rows.values()
    assert reply == JoinByTelegramReply(user_id=joined.id, created=True)
    assert (joined.email, joined.telegram_id, joined.password_hash) == (EMAIL, 42, NO_PASSWORD)
    assert [e.user_id for e in published(uow, UserRegistered)] == [joined.id]
    again = await service.join_by_telegram(uow, messaging, join("other@example.com"))
    assert again == JoinByTelegramReply(user_id=joined.id)
    assert len(uow.accounts.rows) == 1 and len(messaging.sent) == 1


async def test_joining_answers_the_account_of_a_widget_login(uow):
    widget = uow.accounts.create(service.telegram_email(42), NO_PASSWORD)
    reply = await service.join_by_telegram(uow, FakeMessaging(), join())
    assert reply == JoinByTelegramReply(user_id=widget.id)


async def test_joining_without_an_email_gets_a_placeholder(uow):
    await service.join_by_telegram(uow, FakeMessaging(CreateProfile=PROFILE), join())
    [joined] = uow.accounts.rows.values()
    assert joined.email == "telegram-42@telegram.invalid"


@pytest.mark.parametrize(
    ("email", "errors"),
    [
        (EMAIL, {"email": [EMAIL_TAKEN]}),
        ("not an email", {"email": ["Enter a valid email address."]}),
    ],
)
async def test_a_refused_join_is_the_replys_errors(uow, email, errors):
    account(uow)
    answer = service.join_by_telegram(uow, FakeMessaging(CreateProfile=PROFILE), join(email))
    assert await _reply(JoinByTelegramReply, answer) == JoinByTelegramReply(errors=errors)
    assert len(uow.accounts.rows) == 1 and uow.commits == 0


async def test_a_join_refused_by_profile_commits_nothing(uow):
    errors = {"hobby": ["unknown"]}
    messaging = FakeMessaging(CreateProfile=CreateProfileReply(errors=errors))
    reply = await _reply(JoinByTelegramReply, service.join_by_telegram(uow, messaging, join()))
    assert reply.errors == errors and uow.commits == 0 and not uow.published


async def test_an_email_change_refusal_is_the_replys_errors(uow):
    reply = await _reply(EmailChangeReply, request_change(uow, 404, "new@example.com"))
    assert reply == EmailChangeReply(errors={"non_field_errors": ["No such account."]})


# the Telegram widget's login


LOGIN = TelegramLogin(id=42, first_name="Ann", auth_date=1)


async def test_a_telegram_login_of_a_linked_account_opens_its_session(uow, web):
    owner = account(uow)
    messaging = FakeMessaging(FindTelegramUser=TelegramUserReply(valid=True, user_id=owner.id))
    found, refresh = await service.log_in_with_telegram(uow, messaging, LOGIN, web.open)
    assert found is owner and token_digest(refresh) in uow.web_sessions.tokens


async def test_a_new_telegram_login_makes_and_links_an_account(uow, web):
    messaging = FakeMessaging(
        FindTelegramUser=TelegramUserReply(valid=True),
        CreateProfile=PROFILE,
        LinkTelegramUser=TelegramUserReply(valid=True),
    )
    made, _ = await service.log_in_with_telegram(uow, messaging, LOGIN, web.open)
    assert made.email == "telegram-42@telegram.invalid" and made.password_hash == NO_PASSWORD
    _, create, link = messaging.sent
    assert (create.first_name, create.last_name, link.user_id) == ("Ann", "", made.id)
    assert [e.user_id for e in published(uow, UserRegistered)] == [made.id]


@pytest.mark.parametrize(
    ("found", "linked", "refusal"),
    [
        (TelegramUserReply(valid=False, configured=False), None, TelegramNotConfigured),
        (TelegramUserReply(valid=False), None, TelegramLoginRefused),
        (TelegramUserReply(valid=True), TelegramUserReply(valid=False), TelegramLoginRefused),
    ],
)
async def test_a_telegram_login_is_refused(uow, web, found, linked, refusal):
    messaging = FakeMessaging(FindTelegramUser=found, CreateProfile=PROFILE)
    if linked:
        messaging.replies["LinkTelegramUser"] = linked
    with pytest.raises(refusal):
        await service.log_in_with_telegram(uow, messaging, LOGIN, web.open)
    assert uow.commits == 0 and not uow.published


# the refusals on HTTP, both surfaces


@pytest.mark.parametrize(
    ("refusal", "seed", "web"),
    [
        (BadCredentials(), (400, {"non_field_errors": [BAD_CREDENTIALS]}), WEB_BAD_CREDENTIALS),
        (EmailTaken(), (400, {"email": [EMAIL_TAKEN]}), WEB_EMAIL_TAKEN),
        (ProfileRefused({"hobby": ["x"]}), (400, {"hobby": ["x"]}), WEB_UNKNOWN_HOBBY),
        (
            TelegramLoginRefused(),
            (400, {"non_field_errors": [INVALID_TELEGRAM_LOGIN]}),
            WEB_INVALID_TELEGRAM,
        ),
        (InvalidLink(PASSWORD_RESET), (400, {"token": [INVALID_LINK]}), WEB_INVALID_RESET_LINK),
        (InvalidLink(EMAIL_CHANGE), (400, {"token": [INVALID_LINK]}), WEB_INVALID_EMAIL_LINK),
        (
            TelegramNotConfigured(),
            (503, {"detail": TELEGRAM_NOT_CONFIGURED}),
            WEB_TELEGRAM_NOT_CONFIGURED,
        ),
    ],
)
def test_each_refusal_has_its_answer_on_each_surface(refusal, seed, web):
    answer = as_http_error(refusal, web=False)
    assert (answer.status_code, answer.body) == seed
    assert as_http_error(refusal, web=True).body == {"error": web}
    assert as_http_error(refusal, web=True).status_code == seed[0]


def test_throttling_and_a_dead_web_session_keep_their_shared_answers():
    seed, web = as_http_error(TryLater(3), web=False), as_http_error(TryLater(3), web=True)
    assert (seed.status_code, seed.headers, web.status_code) == (429, {"Retry-After": "3"}, 429)
    assert web.headers == {"Retry-After": "3"} and "error" in web.body
    dead = as_http_error(NoWebSession(), web=True)
    assert (dead.status_code, dead.headers) == (401, {"WWW-Authenticate": "Bearer"})
