"""TLS towards NATS and PostgreSQL is a matter of configuration (README, Configuration;
docs/adr/018-service-credentials.md): the settings reach every client the services build, and
a real handshake with a server whose certificate a throwaway CA signed succeeds, while a
wrong CA or a missing client certificate is refused."""

import asyncio
import ssl
import tempfile
from pathlib import Path

import nats
import psycopg
import pytest
from sqlalchemy import text

from tests.support.tls import Authority
from unimatch_shared.db import make_engine, make_read_pool, run_migrations
from unimatch_shared.messaging import Messaging
from unimatch_shared.settings import ServiceSettings
from unimatch_stack.infra import embedded_nats

REFUSED = (ssl.SSLError, ConnectionError, nats.errors.Error, asyncio.TimeoutError, OSError)


@pytest.fixture
def authority(tmp_path):
    return Authority(tmp_path / "ca")


async def test_nats_clients_speak_tls_with_the_configured_ca_and_client_certificate(
    tmp_path, authority
):
    server = authority.issue("nats-server", server=True)
    client = authority.issue("unimatch-auth", server=False)
    config = tmp_path / "nats-tls.conf"
    config.write_text(
        f'tls {{\n  cert_file: "{server.cert}"\n  key_file: "{server.key}"\n'
        f'  ca_file: "{authority.ca}"\n  verify: true\n}}\n'
    )
    with embedded_nats(tmp_path, port=0, config=config) as url:
        settings = ServiceSettings(
            nats_url=url,
            nats_tls_ca_file=str(authority.ca),
            nats_tls_cert_file=str(client.cert),
            nats_tls_key_file=str(client.key),
        )
        messaging = Messaging(settings, "tls-test")
        await messaging.broker.connect()
        try:
            assert await messaging.is_ready()
            transport = messaging.broker.connection._transport
            assert transport._io_writer.get_extra_info("ssl_object") is not None
        finally:
            await messaging.broker.stop()

        stranger = Authority(tmp_path / "other", "Another CA")
        impostor = stranger.issue("impostor", server=False)
        refused = {
            "no client certificate": ServiceSettings(
                nats_url=url, nats_tls_ca_file=str(authority.ca)
            ),
            "a CA that did not sign the server's": ServiceSettings(
                nats_url=url,
                nats_tls_ca_file=str(stranger.ca),
                nats_tls_cert_file=str(client.cert),
                nats_tls_key_file=str(client.key),
            ),
            "a client certificate of another CA": ServiceSettings(
                nats_url=url,
                nats_tls_ca_file=str(authority.ca),
                nats_tls_cert_file=str(impostor.cert),
                nats_tls_key_file=str(impostor.key),
            ),
        }
        for why, settings in refused.items():
            with pytest.raises(REFUSED):
                connection = await nats.connect(
                    url,
                    tls=settings.nats_tls_context(),
                    allow_reconnect=False,
                    connect_timeout=2,
                )
                await connection.flush(timeout=2)  # a refused client certificate shows here
                await connection.close()
                pytest.fail(f"connected with {why}")


def test_a_client_certificate_needs_its_key():
    with pytest.raises(ValueError, match="NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE"):
        ServiceSettings(nats_tls_cert_file="client.crt")


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


async def test_database_url_tls_parameters_reach_every_database_client(infra):
    """TLS towards PostgreSQL is libpq's own: ``sslmode`` (and ``sslrootcert``, ``sslcert``,
    ``sslkey``) in DATABASE_URL. The ORM's engine, the read pool and the migrations all pass
    them on: with ``sslmode=require`` each either speaks TLS or, to a server without it (the
    embedded one is built without TLS; the session's usually runs without), refuses to talk
    in clear. (The handshake itself is libpq's; the NATS test above makes a real one.)"""
    with psycopg.connect(infra.database_url) as connection:
        server_tls = connection.execute("SHOW ssl").fetchone() == ("on",)
    settings = ServiceSettings(database_url=_with_query(infra.database_url, "sslmode=require"))
    is_tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

    async def through_engine():
        engine = make_engine(settings, schema="public")
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(is_tls))).scalar()
        finally:
            await engine.dispose()

    async def through_read_pool():
        """A connection made as the pool makes its own (its conninfo and arguments)."""
        pool = make_read_pool(settings, schema="public")
        async with await psycopg.AsyncConnection.connect(pool.conninfo, **pool.kwargs) as conn:
            return (await (await conn.execute(is_tls)).fetchone())[0]

    async def through_migrations():
        empty = Path(tempfile.mkdtemp(prefix="no-migrations-"))
        (empty / "versions").mkdir()
        (empty / "env.py").write_text("")
        await asyncio.to_thread(run_migrations, settings, "tls_probe", empty)
        return True

    for client in (through_engine, through_read_pool, through_migrations):
        if server_tls:
            assert await client() is True, client.__name__
        else:
            with pytest.raises(Exception) as refused:
                await client()
            assert "SSL was required" in str(refused.value), client.__name__
