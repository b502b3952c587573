"""`make run` and the test sessions give each service its own database role and NATS user
(docs/adr/018-service-credentials.md), with passwords kept private and reused across runs."""

import json
import stat
from urllib.parse import urlsplit

import nats
import psycopg
import pytest

from tests.support.helpers import eventually
from unimatch_shared.access import SERVICES, inbox_prefix
from unimatch_stack import credentials, testinfra
from unimatch_stack.infra import local_infra


def _user(url: str) -> str | None:
    return urlsplit(url).username


def _logins(service_env) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """Who logs in with which password (the ports may differ from run to run)."""
    return {
        (service, name): (urlsplit(url).username, urlsplit(url).password)
        for service, env in service_env.items()
        for name, url in env.items()
    }


async def test_make_run_gives_each_service_its_own_role_and_nats_user(tmp_path):
    with local_infra(tmp_path, environ={}) as infra:
        assert sorted(infra.service_env) == sorted(SERVICES)
        for service in SERVICES:
            env = infra.service_env[service]
            assert _user(env["DATABASE_URL"]) == f"unimatch_{service}"
            assert _user(env["NATS_URL"]) == service
        with psycopg.connect(
            infra.service_env["matching"]["DATABASE_URL"], autocommit=True
        ) as matching:
            matching.execute("CREATE TABLE matching.mine (id int)")  # its own schema
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                matching.execute("CREATE TABLE auth.theirs (id int)")
        errors: list[str] = []

        async def collect(error):
            errors.append(str(error))

        auth_nats = infra.service_env["auth"]["NATS_URL"]
        client = await nats.connect(auth_nats, inbox_prefix=inbox_prefix("auth"), error_cb=collect)
        await client.subscribe("rpc.profile.create")
        await client.flush()
        refused = await eventually(lambda: errors, "the server refuses the subscription")
        await client.close()
        assert "permissions violation for subscription" in refused[0].lower()
        first = _logins(infra.service_env)
    kept = tmp_path / credentials.SECRETS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / credentials.NATS_CONFIG_FILE).stat().st_mode) == 0o600
    assert set(json.loads(kept.read_text())["database"]) == set(SERVICES)
    with local_infra(tmp_path, environ={}) as again:
        # Same passwords; the schemas (and what matching made in its own) are kept.
        assert _logins(again.service_env) == first
        with psycopg.connect(again.service_env["matching"]["DATABASE_URL"]) as matching:
            matching.execute("SELECT * FROM matching.mine")


def test_make_run_uses_servers_from_the_environment_as_given(tmp_path):
    environ = {"DATABASE_URL": "postgresql://me@db.example/app", "NATS_URL": "nats://n:4222"}
    with local_infra(tmp_path, environ=environ) as infra:
        assert (infra.database_url, infra.nats_url) == (environ["DATABASE_URL"], "nats://n:4222")
        assert infra.service_env == {}
    assert not (tmp_path / credentials.SECRETS_FILE).exists()


def test_test_sessions_give_the_system_its_own_roles_on_the_sessions_server(infra):
    """(CI: the machine's PostgreSQL, where roles can be made.) The roles go with the session."""
    with testinfra.session_infra(
        environ={"DATABASE_URL": infra.database_url, "NATS_URL": infra.nats_url}
    ) as s:
        database = s.database_url.rsplit("/", 1)[1]
        if not s.service_env:
            pytest.skip("the session's PostgreSQL lets us create no roles")
        for service in SERVICES:
            assert _user(s.service_env[service]["DATABASE_URL"]) == f"{database}_{service}"
    with psycopg.connect(infra.database_url) as admin:
        left = admin.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{database}_%",)
        )
        assert left.fetchall() == []
