"""Each service's own NATS user and database role (docs/adr/018-service-credentials.md): the
four services work with nothing more, and each is refused what belongs to another.

The NATS users need a nats-server of our own (the session's may be one from the environment,
without users and not ours to reconfigure): an embedded one with the configuration `make run`
generates, for a fresh event prefix. The roles are made on the session's PostgreSQL server,
for a database of the test's own, and dropped with it.
"""

import asyncio
import secrets
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from pathlib import Path

import nats
import psycopg
import pytest
from nats.errors import Error as NatsError

from auth_service.main import create_app as auth_app
from auth_service.settings import AuthSettings
from matching_service.main import create_app as matching_app
from matching_service.settings import MatchingSettings
from notifier_service.main import create_app as notifier_app
from notifier_service.settings import NotifierSettings
from profile_service.main import create_app as profile_app
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.support.helpers import ACK_WAIT_SECONDS, eventually, query
from unimatch_shared.access import SERVICES, inbox_prefix
from unimatch_shared.events import PasswordResetRequested, ProfileChanged, UserRegistered
from unimatch_shared.messaging import Messaging, durable_name
from unimatch_shared.rpc import CreateProfile
from unimatch_shared.settings import ServiceSettings
from unimatch_stack import credentials
from unimatch_stack.db_roles import drop_roles, grant_schemas
from unimatch_stack.infra import embedded_nats, fresh_database
from unimatch_stack.testinfra import new_event_prefix

VIOLATION = "permissions violation"


@dataclass
class Secured:
    prefix: str
    nats_admin_url: str
    database_admin_url: str
    env: credentials.ServiceEnv  # per service: DATABASE_URL and NATS_URL as itself
    nats_log: Path

    def settings(self, service: str) -> dict[str, object]:
        return {
            "database_url": self.env[service]["DATABASE_URL"],
            "nats_url": self.env[service]["NATS_URL"],
            "unimatch_event_prefix": self.prefix,
            "unimatch_ack_wait_seconds": ACK_WAIT_SECONDS,
        }

    def violations(self) -> list[str]:
        return [line for line in self.nats_log.read_text().splitlines() if "Violation" in line]


@pytest.fixture
def secured(infra, tmp_path):
    prefix = new_event_prefix()
    passwords = credentials.Secrets().complete()
    config = credentials.private_file(
        tmp_path / "nats-server.conf",
        credentials.nats_config(prefix, passwords.nats, passwords.nats_admin),
    )
    with ExitStack() as stack:
        server = stack.enter_context(embedded_nats(tmp_path, port=0, config=config))
        admin = credentials.with_user(server, credentials.ADMIN_USER, passwords.nats_admin)
        made: list[str] = []
        stack.callback(drop_roles, infra.database_url, made)  # once the database is gone
        database_url = stack.enter_context(fresh_database(infra.database_url, "credentials"))
        database = database_url.rsplit("/", 1)[1]
        try:
            roles = credentials.database_roles(database_url, database, passwords.database)
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the session's PostgreSQL lets us create no roles")
        made += [f"{database}_{service}" for service in SERVICES]
        env = credentials.merge(roles, credentials.nats_service_env(server, passwords.nats))
        yield Secured(prefix, admin, database_url, env, tmp_path / "log" / "nats.log")


async def connect_as(secured: Secured, service: str, errors: list[str]) -> nats.NATS:
    async def collect(error: Exception) -> None:
        errors.append(str(error).lower())

    return await nats.connect(
        secured.env[service]["NATS_URL"], inbox_prefix=inbox_prefix(service), error_cb=collect
    )


async def test_the_services_work_as_themselves_and_nothing_more(secured):
    """A sign-up crosses every kind of permission: auth asks profile (RPC), publishes
    ``user.registered`` (outbox) and writes the session store; profile consumes it and
    publishes ``profile.changed``, which matching and the notifier consume; each declares the
    streams and buckets and follows the signing keys. Nothing is refused on the way."""
    apps = {
        "auth": auth_app(AuthSettings(**secured.settings("auth"))),
        "profile": profile_app(ProfileSettings(**secured.settings("profile"))),
        "matching": matching_app(MatchingSettings(**secured.settings("matching"))),
        "notifier": notifier_app(NotifierSettings(**secured.settings("notifier"))),
    }
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running_app(app)) for name, app in apps.items()
        }
        email = f"{secrets.token_hex(4)}@example.com"
        signup = {"email": email, "password": "secret-12", "first_name": "Anna", "hobby": [1]}
        response = await clients["auth"].post("/users/api/register/", json=signup)
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        me = await clients["profile"].get(
            "/users/api/me/", headers={"Authorization": f"Token {token}"}
        )
        assert me.status_code == 200, me.text

        async def participant_known():
            return await query(secured.database_admin_url, "matching", "SELECT 1 FROM participant")

        await eventually(participant_known, "matching learned of the sign-up")
        confirmed = await query(
            secured.database_admin_url, "profile", "SELECT confirmed FROM profile"
        )
        assert confirmed == [(True,)]
    assert secured.violations() == []


async def test_a_service_cannot_read_another_services_schema(secured):
    """Auth's tables exist (its migrations ran as its own role); profile's role can reach
    neither them nor their schema, not even to create something there."""
    async with running_app(auth_app(AuthSettings(**secured.settings("auth")))):
        pass
    profile_url = secured.env["profile"]["DATABASE_URL"]
    auth_url = secured.env["auth"]["DATABASE_URL"]
    async with await psycopg.AsyncConnection.connect(auth_url, autocommit=True) as own:
        await own.execute("SELECT count(*) FROM auth.user_account")  # the owner may
    async with await psycopg.AsyncConnection.connect(profile_url, autocommit=True) as other:
        for statement in (
            "SELECT * FROM auth.user_account",
            "DELETE FROM auth.auth_token",
            "CREATE TABLE auth.stolen (id int)",
            "CREATE SCHEMA elsewhere",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await other.execute(statement)


async def test_a_service_cannot_subscribe_to_another_services_request_subject(secured):
    """The notifier may not listen on profile's ``rpc.profile.create`` (it would see every
    sign-up's email and names), nor on the replies auth waits for; profile, which answers
    it, may."""
    subject = f"{secured.prefix}{CreateProfile.SUBJECT}"
    errors: list[str] = []
    notifier = await connect_as(secured, "notifier", errors)
    profile = await connect_as(secured, "profile", [])
    auth = await connect_as(secured, "auth", [])
    try:
        stolen = await notifier.subscribe(subject)
        snooped = await notifier.subscribe(f"{inbox_prefix('auth')}.>")
        answered = await profile.subscribe(subject)
        await notifier.flush()
        await profile.flush()
        await auth.publish(subject, b"{}", reply=f"{inbox_prefix('auth')}.x")
        assert (await answered.next_msg(timeout=5)).data == b"{}"
        for subscription in (stolen, snooped):
            with pytest.raises(nats.errors.TimeoutError):
                await subscription.next_msg(timeout=0.5)
        await eventually(lambda: len(errors) >= 2, "both subscriptions are refused")
        assert any(VIOLATION in e and "subscription" in e and subject in e for e in errors)
        assert any(VIOLATION in e and inbox_prefix("auth").lower() in e for e in errors)
    finally:
        for client in (notifier, profile, auth):
            await client.close()


async def test_a_service_cannot_publish_an_event_it_does_not_own(secured):
    """Matching may not publish ``user.registered`` (auth's), nor read auth's reset tokens by
    a durable of its own filtered on ``password_reset.requested``, nor park another's events
    as dead letters; its own dead letters and auth's own publication are stored."""
    settings = ServiceSettings(**secured.settings("auth"))
    messaging = Messaging(settings, "test-auth", inbox_prefix("auth"))
    await messaging.broker.connect()
    await messaging.ensure_streams()  # as auth: every service may declare the streams
    subject = f"{secured.prefix}{UserRegistered.SUBJECT}"
    errors: list[str] = []
    matching = await connect_as(secured, "matching", errors)
    auth = await connect_as(secured, "auth", [])
    admin = await nats.connect(secured.nats_admin_url)
    try:
        with pytest.raises(NatsError):
            await matching.jetstream(timeout=1).publish(subject, b'{"forged": true}')
        await eventually(lambda: errors, "the publication is refused")
        assert any(VIOLATION in e and "publish" in e and subject in e for e in errors)
        reset = PasswordResetRequested.SUBJECT
        forged = nats.js.api.ConsumerConfig(
            name=durable_name("matching", UserRegistered),
            durable_name=durable_name("matching", UserRegistered),
            filter_subject=f"{secured.prefix}{reset}",
        )
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await matching.jetstream(timeout=1).add_consumer(messaging.stream.name, forged)

        # A consumer parks what it gives up on, for its own events only.
        parked = f"{secured.prefix}deadletter.{ProfileChanged.SUBJECT}"
        await matching.jetstream().publish(parked, b"{}", stream=messaging.dead_letter_stream)
        errors.clear()
        foreign = f"{secured.prefix}deadletter.{UserRegistered.SUBJECT}"
        with pytest.raises(NatsError):
            await matching.jetstream(timeout=1).publish(foreign, b"{}")
        await eventually(lambda: errors, "the foreign dead letter is refused")

        await auth.jetstream().publish(subject, b'{"genuine": true}')
        stored = await admin.jetstream().get_last_msg(messaging.stream.name, subject)
        assert stored.data == b'{"genuine": true}'
    finally:
        for client in (matching, auth, admin):
            await client.close()
        await messaging.broker.stop()


def test_a_role_takes_over_its_schema_as_make_run_made_it_before_roles(infra):
    """`make run`'s database from before per-service roles: the schema, its tables (with
    identity sequences) and types belong to the superuser. Granting hands all of it over,
    twice as well as once, and the data stays."""
    role = f"r{secrets.token_hex(4)}_profile"
    with ExitStack() as stack:
        stack.callback(drop_roles, infra.database_url, [role])
        url = stack.enter_context(fresh_database(infra.database_url, "handover"))
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("CREATE SCHEMA profile")
            admin.execute("CREATE TYPE profile.mood AS ENUM ('ok')")
            admin.execute(
                "CREATE TABLE profile.note (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " mood profile.mood)"
            )
            admin.execute("INSERT INTO profile.note (mood) VALUES ('ok')")
        for _ in range(2):
            own_url = grant_schemas(url, {"profile": (role, "pw-1")})["profile"]
        with psycopg.connect(own_url, autocommit=True) as own:
            own.execute("INSERT INTO profile.note (mood) VALUES ('ok')")
            assert own.execute("SELECT count(*) FROM profile.note").fetchone() == (2,)
            own.execute("ALTER TABLE profile.note ADD COLUMN extra int")  # the owner's right
