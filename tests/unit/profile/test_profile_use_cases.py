"""Profile's use cases (service.py) on the in-memory unit of work: no PostgreSQL, no NATS."""

from datetime import UTC, date, datetime, timedelta

import pytest

from profile_service import service
from profile_service.adapters.db.tables import Profile
from profile_service.events.handlers import _profile_reply
from tests.unit.fakes import FakeMessaging
from tests.unit.profile.fakes import FakeProfileUnitOfWork, group
from unimatch_shared.errors import Invalid, NotFound, ServiceUnavailable, TryLater
from unimatch_shared.events import (
    AccountDeleted,
    AccountEmailChanged,
    EmailUnsubscribed,
    ProfileChanged,
    TelegramLinked,
    TelegramUnlinked,
    UserRegistered,
)
from unimatch_shared.rpc import (
    AccountsExistReply,
    CreateProfile,
    EmailChangeReply,
    ProfileReply,
    SetHobbies,
    SetPause,
)

TODAY = datetime.now(UTC).date()


@pytest.fixture
def uow() -> FakeProfileUnitOfWork:
    return FakeProfileUnitOfWork()


async def signed_up(uow: FakeProfileUnitOfWork, user_id: int = 7) -> None:
    """A confirmed profile with hobby 1, as sign-up and its ``user.registered`` leave it."""
    request = CreateProfile(user_id=user_id, email=f"u{user_id}@example.com", hobby=[1])
    await service.create_profile(uow, request)
    await service.on_user_registered(uow, UserRegistered(**request.model_dump()))
    uow.published.clear()


def announced(uow: FakeProfileUnitOfWork) -> list[ProfileChanged]:
    return [e for e in uow.published if isinstance(e, ProfileChanged)]


# create_profile


async def test_sign_up_stores_an_unconfirmed_profile_and_announces_nothing(uow):
    request = CreateProfile(user_id=7, email="a@example.com", first_name="Ann", hobby=[2, 1])
    reply = await service.create_profile(uow, request)
    assert reply.errors is None
    assert reply.user is not None and reply.user["hobby"] == [1, 2]
    assert reply.web_user is not None and reply.web_user["hobby"][0] == {"id": 1, "name": "Chess"}
    assert uow.profiles.rows[7].first_name == "Ann" and not uow.profiles.rows[7].confirmed
    assert uow.published == []


async def test_sign_up_with_unknown_hobbies_answers_errors_and_stores_nothing(uow):
    reply = await service.create_profile(
        uow, CreateProfile(user_id=7, email="a@x.io", hobby=[1, 99])
    )
    assert reply.errors == {"hobby": ['Invalid pk "99" - object does not exist.']}
    assert uow.profiles.rows == {} and uow.commits == 0


async def test_sign_up_again_updates_the_stored_profile(uow):
    await service.create_profile(uow, CreateProfile(user_id=7, email="a@x.io", hobby=[1]))
    await service.create_profile(
        uow, CreateProfile(user_id=7, email="a@x.io", first_name="Bo", hobby=[3])
    )
    assert uow.profiles.rows[7].first_name == "Bo" and uow.profiles.hobby_ids[7] == [3]


# get_me


async def test_get_me_shows_the_user_and_refuses_an_unknown_one(uow):
    await signed_up(uow)
    assert (await service.get_me(uow, 7))["email"] == "u7@example.com"
    with pytest.raises(NotFound):
        await service.get_me(uow, 8)


# update_me


async def test_update_me_changes_names_and_hobbies_and_announces_them(uow):
    await signed_up(uow)
    view = await service.update_me(uow, FakeMessaging(), 7, {"first_name": "Cy", "hobby": [3]})
    assert view["first_name"] == "Cy" and view["hobby"] == [3]
    [event] = announced(uow)
    assert event.first_name == "Cy" and [h.name for h in event.hobbies] == ["Jazz"]


async def test_update_me_answers_the_web_view_on_the_web_surface(uow):
    await signed_up(uow)
    view = await service.update_me(uow, FakeMessaging(), 7, {}, web=True)
    assert view["hobby"] == [{"id": 1, "name": "Chess"}] and "paused" not in view


async def test_update_me_refuses_unknown_hobbies_and_commits_nothing(uow):
    await signed_up(uow)
    commits = uow.commits
    with pytest.raises(Invalid) as refused:
        await service.update_me(uow, FakeMessaging(), 7, {"hobby": [42]})
    assert list(refused.value.errors) == ["hobby"]
    assert uow.commits == commits and uow.published == []


async def test_update_me_refuses_a_missing_profile(uow):
    with pytest.raises(NotFound):
        await service.update_me(uow, FakeMessaging(), 7, {"first_name": "X"})


async def test_a_new_email_is_pending_until_auth_confirms_it(uow):
    await signed_up(uow)
    until = datetime.now(UTC) + timedelta(hours=1)
    auth = FakeMessaging(
        RequestEmailChange=EmailChangeReply(pending_email="new@x.io", pending_until=until)
    )
    view = await service.update_me(uow, auth, 7, {"email": "new@x.io"})
    assert view["pending_email"] == "new@x.io" and view["email"] == "u7@example.com"
    assert auth.sent[0].model_dump() == {"user_id": 7, "email": "new@x.io"}


async def test_an_email_auth_refuses_is_invalid(uow):
    await signed_up(uow)
    auth = FakeMessaging(RequestEmailChange=EmailChangeReply(errors={"email": ["taken"]}))
    with pytest.raises(Invalid) as refused:
        await service.update_me(uow, auth, 7, {"email": "b@x.io", "first_name": "Z"})
    assert refused.value.errors == {"email": ["taken"]}
    assert announced(uow) == []


async def test_too_many_new_emails_say_when_to_try_again(uow):
    await signed_up(uow)
    auth = FakeMessaging(RequestEmailChange=EmailChangeReply(retry_after=30))
    with pytest.raises(TryLater) as refused:
        await service.update_me(uow, auth, 7, {"email": "b@x.io"})
    assert refused.value.retry_after == 30


# set_hobbies_on_request / hobby_catalog (the bot's hobby picker)


async def test_hobbies_chosen_in_the_bot_replace_the_old_ones_or_are_refused(uow):
    await signed_up(uow)
    reply = await _profile_reply(
        service.set_hobbies_on_request(uow, FakeMessaging(), SetHobbies(user_id=7, hobby=[2, 3]))
    )
    assert reply.user is not None and reply.user["hobby"] == [2, 3]
    unknown = SetHobbies(user_id=7, hobby=[42])
    reply = await _profile_reply(service.set_hobbies_on_request(uow, FakeMessaging(), unknown))
    assert reply.errors == {"hobby": ['Invalid pk "42" - object does not exist.']}
    assert uow.profiles.hobby_ids[7] == [2, 3]


async def test_the_catalog_lists_every_hobby_by_id(uow):
    reply = await service.hobby_catalog(uow)
    assert [(h.id, h.name) for h in reply.hobbies] == [(1, "Chess"), (2, "Hiking"), (3, "Jazz")]


# set_pause / set_pause_on_request


async def test_pausing_until_a_date_and_resuming_are_announced(uow):
    await signed_up(uow)
    until = TODAY + timedelta(days=3)
    view = await service.set_pause(uow, 7, True, until)
    assert view["paused"] and view["paused_until"] == until
    view = await service.set_pause(uow, 7, False, None)
    assert not view["paused"] and view["paused_until"] is None
    assert [(e.paused, e.paused_until) for e in announced(uow)] == [(True, until), (False, None)]


async def test_a_pause_ending_in_the_past_is_invalid(uow):
    await signed_up(uow)
    with pytest.raises(Invalid):
        await service.set_pause(uow, 7, True, TODAY - timedelta(days=1))
    assert uow.published == []


async def test_the_bots_pause_request_answers_the_user_or_the_refusal(uow):
    await signed_up(uow)
    reply = await _profile_reply(
        service.set_pause_on_request(uow, SetPause(user_id=7, paused=True))
    )
    assert reply.user is not None and reply.user["paused"]
    missing = SetPause(user_id=8, paused=True)
    assert await _profile_reply(service.set_pause_on_request(uow, missing)) == ProfileReply(
        errors={"detail": ["Not found."]}
    )
    past = SetPause(user_id=7, paused=True, until=date(2000, 1, 1))
    reply = await _profile_reply(service.set_pause_on_request(uow, past))
    assert reply.errors == {"until": ["The date must be today or later."]}


# on_user_registered


async def test_registration_confirms_and_announces_the_profile_once(uow):
    request = CreateProfile(user_id=7, email="a@x.io", hobby=[1])
    await service.create_profile(uow, request)
    event = UserRegistered(**request.model_dump())
    await service.on_user_registered(uow, event)
    await service.on_user_registered(uow, event)  # redelivered
    assert uow.profiles.rows[7].confirmed
    assert [e.user_id for e in announced(uow)] == [7]


async def test_an_account_made_by_an_operator_gets_a_profile_with_its_known_hobbies(uow):
    await service.on_user_registered(uow, UserRegistered(user_id=9, email="o@x.io", hobby=[2, 77]))
    assert uow.profiles.rows[9].confirmed and uow.profiles.hobby_ids[9] == [2]


async def test_registration_of_a_deleted_account_brings_nobody_back(uow):
    await service.on_account_deleted(uow, AccountDeleted(user_id=9))
    await service.on_user_registered(uow, UserRegistered(user_id=9, email="o@x.io"))
    assert 9 not in uow.profiles.rows and uow.published == []


# on_account_email_changed


async def test_a_confirmed_email_replaces_the_old_and_the_pending_one(uow):
    await signed_up(uow)
    profile = uow.profiles.rows[7]
    profile.pending_email, profile.pending_email_until = "n@x.io", datetime.now(UTC)
    await service.on_account_email_changed(uow, AccountEmailChanged(user_id=7, email="n@x.io"))
    assert (profile.email, profile.pending_email) == ("n@x.io", None)
    assert announced(uow)[0].email == "n@x.io"


async def test_an_older_email_change_is_stale(uow):
    await signed_up(uow)
    older = AccountEmailChanged(user_id=7, email="old@x.io")
    newer = AccountEmailChanged(user_id=7, email="new@x.io")
    for event in (newer, older):
        await service.on_account_email_changed(uow, event)
    assert uow.profiles.rows[7].email == "new@x.io" and len(announced(uow)) == 1


# on_email_unsubscribed


async def test_unsubscribing_takes_email_off_the_channels_once_and_announces_it(uow):
    await signed_up(uow)  # no Telegram: email is the default channel
    event = EmailUnsubscribed(user_id=7)
    await service.on_email_unsubscribed(uow, event)
    await service.on_email_unsubscribed(uow, event)
    assert uow.profiles.rows[7].channels == []
    [changed] = announced(uow)
    assert changed.channels == []


async def test_unsubscribing_when_email_is_not_a_channel_changes_nothing(uow):
    await signed_up(uow)
    uow.profiles.rows[7].channels = ["telegram"]
    await service.on_email_unsubscribed(uow, EmailUnsubscribed(user_id=7))
    assert uow.profiles.rows[7].channels == ["telegram"] and announced(uow) == []


# on_pair_created / on_account_deleted


async def test_a_trio_gives_each_member_both_partners_once(uow):
    event = group(1, 11, 1, 2, 3)
    await service.on_pair_created(uow, event)
    await service.on_pair_created(uow, event)
    assert sorted((m.user_id, m.partner_id) for m in uow.profiles.matches) == [
        (1, 2),
        (1, 3),
        (2, 1),
        (2, 3),
        (3, 1),
        (3, 2),
    ]


async def test_a_deleted_member_gets_no_history_and_shows_as_the_deleted_user(uow):
    await service.on_account_deleted(uow, AccountDeleted(user_id=2))
    await service.on_pair_created(uow, group(1, 11, 1, 2))
    [row] = uow.profiles.matches
    assert (row.user_id, row.partner_id, row.partner_email) == (1, 2, "")


async def test_deleting_an_account_forgets_it_and_renames_it_in_partners_rows(uow):
    await signed_up(uow, 1)
    await service.on_pair_created(uow, group(1, 11, 1, 2))
    await service.on_account_deleted(uow, AccountDeleted(user_id=1))
    assert 1 not in uow.profiles.rows and 1 in uow.profiles.deleted
    [row] = uow.profiles.matches
    assert (row.user_id, row.partner_first_name) == (2, "Удалённый пользователь")


# on_telegram_linked / apply_telegram_link / on_telegram_unlinked


async def test_linking_now_shows_the_chat_and_its_later_delivery_changes_nothing(uow):
    await signed_up(uow)
    event = TelegramLinked(user_id=7, chat_id="100", username="ann")
    reply = await _profile_reply(service.apply_telegram_link(uow, event))
    assert reply.user is not None and reply.user["chat_id"] == "100"
    uow.profiles.rows[7].chat_id = "changed since"
    await service.on_telegram_linked(uow, event)
    assert uow.profiles.rows[7].chat_id == "changed since"


async def test_linking_an_unknown_user_answers_not_found(uow):
    reply = await _profile_reply(
        service.apply_telegram_link(uow, TelegramLinked(user_id=8, chat_id="1"))
    )
    assert reply == ProfileReply(errors={"detail": ["Not found."]})


async def test_an_unlink_applies_to_the_linked_chat_and_only_if_newer(uow):
    await signed_up(uow)
    unlinked_before = TelegramUnlinked(user_id=7, chat_id="100")
    await service.on_telegram_linked(uow, TelegramLinked(user_id=7, chat_id="100"))
    await service.on_telegram_unlinked(uow, unlinked_before)
    assert uow.profiles.rows[7].chat_id == "100"
    await service.on_telegram_unlinked(uow, TelegramUnlinked(user_id=7, chat_id="other"))
    assert uow.profiles.rows[7].chat_id == "100"
    await service.on_telegram_unlinked(uow, TelegramUnlinked(user_id=7, chat_id="100"))
    assert uow.profiles.rows[7].chat_id is None


# purge_unconfirmed


def abandoned(uow: FakeProfileUnitOfWork, *user_ids: int) -> None:
    for user_id in user_ids:
        uow.profiles.rows[user_id] = Profile(
            user_id=user_id,
            email=f"{user_id}@x.io",
            created_at=datetime.now(UTC) - timedelta(days=1),
        )


async def test_the_sweeper_deletes_orphans_and_confirms_profiles_whose_account_exists(uow):
    abandoned(uow, 1, 2, 3)
    auth = FakeMessaging(AccountsExist=AccountsExistReply(existing=[2, 99]))
    swept = await service.purge_unconfirmed(uow, auth, timedelta(hours=1), batch=2)
    assert swept == service.Swept(removed=2, confirmed=1)
    assert list(uow.profiles.rows) == [2] and uow.profiles.rows[2].confirmed
    assert [e.user_id for e in announced(uow)] == [2]


async def test_the_sweeper_leaves_recent_sign_ups_alone(uow):
    await service.create_profile(uow, CreateProfile(user_id=5, email="n@x.io"))
    swept = await service.purge_unconfirmed(uow, FakeMessaging(), timedelta(hours=1))
    assert swept == service.Swept() and 5 in uow.profiles.rows


async def test_the_sweeper_deletes_nothing_when_auth_cannot_answer(uow):
    abandoned(uow, 1)
    with pytest.raises(ServiceUnavailable):
        await service.purge_unconfirmed(uow, FakeMessaging(), timedelta(hours=1))
    assert 1 in uow.profiles.rows
