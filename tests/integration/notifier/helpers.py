"""Helpers for the notifier's integration tests: the other services, events, the database."""

import json
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

from auth_service.main import create_app as create_auth
from auth_service.settings import AuthSettings
from notifier_service.main import create_app as create_notifier
from profile_service.main import create_app as create_profile
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.support.helpers import query
from unimatch_shared.events import GroupMember, PairCreated
from unimatch_shared.rpc import NextRound

ADMIN_EMAIL = "admin@unimatch.example.com"
ADMIN_PASSWORD = "admin-password-1"


@asynccontextmanager
async def running_system(env, notifier_settings):
    """auth, profile and the notifier in this process; yields their HTTP clients."""
    common = {
        "database_url": env.database_url,
        "nats_url": env.nats_url,
        "unimatch_event_prefix": env.event_prefix,
    }
    auth_settings = AuthSettings(
        **common, unimatch_admin_email=ADMIN_EMAIL, unimatch_admin_password=ADMIN_PASSWORD
    )
    async with AsyncExitStack() as stack:
        auth = await stack.enter_async_context(running_app(create_auth(auth_settings)))
        profile = await stack.enter_async_context(
            running_app(create_profile(ProfileSettings(**common)))
        )
        notifier = await stack.enter_async_context(running_app(create_notifier(notifier_settings)))
        yield auth, profile, notifier


async def register(auth, email: str, first_name: str, hobby: list[int]) -> tuple[dict, str]:
    body = {"email": email, "password": "pa55word", "first_name": first_name, "hobby": hobby}
    response = await auth.post("/users/api/register/", json=body)
    assert response.status_code == 201, response.text
    return response.json()["user"], response.json()["token"]


async def log_in(auth, email: str, password: str) -> str:
    response = await auth.post("/auth/token/login/", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def pair_created(group_id: int, *members: tuple[int, str], hobbies=("Музыка",)) -> PairCreated:
    """A group of (user id, first name) members; emails are derived from the names."""
    return PairCreated(
        round_id=1,
        group_id=group_id,
        created_at=datetime.now(UTC),
        members=[
            GroupMember(id=i, first_name=name, last_name="Тестов", email=f"{name}@example.com")
            for i, name in members
        ],
        shared_hobbies=list(hobbies),
    )


async def link_chats(database_url: str, links: dict[int, int]) -> None:
    """Link users to chats directly in the notifier's table (for tests about delivery)."""
    for user_id, chat_id in links.items():
        await query(
            database_url,
            "notifier",
            "insert into chat_link (user_id, chat_id, linked_at) values (%s, %s, now())",
            user_id,
            chat_id,
        )


async def answer_next_round(nc, prefix: str):
    """Stands in for matching's answer to ``NextRound``."""
    reply = {"days_left": 1, "hours_left": 13, "minutes_left": 17}
    reply["next_match_at"] = "2025-04-29 10:00:00"

    async def respond(message):
        await message.respond(json.dumps(reply).encode())

    return await nc.subscribe(prefix + NextRound.SUBJECT, cb=respond)
