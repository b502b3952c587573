"""Each service's own PostgreSQL role: it owns the service's schema and has no rights on the
others' (docs/adr/018-service-credentials.md).

``grant_schemas`` runs ``deploy/postgres/grant-schema.sql`` once per service — the same SQL
compose's PostgreSQL runs at initialisation (``deploy/postgres/init-roles.sh``) — as a role
allowed to create roles: `make run` on its embedded server, the test infrastructure on the
session's. It is
idempotent (a restart resets nothing but the password it was given) and hands over a schema
made earlier by another owner, as `make run` made them before roles existed. The services
then connect as their own role: ``run_migrations`` creates no schema, and PostgreSQL itself
refuses any statement on another service's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

GRANT_SCHEMA_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "grant-schema.sql"


def role_url(admin_url: str, role: str, password: str) -> str:
    """``admin_url`` (same server, database and parameters such as ``sslmode``) as ``role``."""
    parts = urlsplit(admin_url)
    server = parts.netloc.rpartition("@")[2]
    userinfo = f"{quote(role, safe='')}:{quote(password, safe='')}"
    return parts._replace(netloc=f"{userinfo}@{server}").geturl()


def grant_schemas(admin_url: str, roles: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """Make each schema's role (``{schema: (role, password)}``) and give it the schema; return
    ``{schema: the database URL as that role}``."""
    grant = GRANT_SCHEMA_SQL.read_text()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for schema, (role, password) in roles.items():
            connection.execute(
                "SELECT set_config('unimatch.schema', %s, false),"
                " set_config('unimatch.role', %s, false),"
                " set_config('unimatch.password', %s, false)",
                (schema, role, password),
            )
            connection.execute(grant.encode())
    return {schema: role_url(admin_url, role, pw) for schema, (role, pw) in roles.items()}


def drop_roles(admin_url: str, roles: list[str]) -> None:
    """Drop roles made by ``grant_schemas`` once the databases holding their objects are gone
    (tests: each session's roles go with its database)."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for role in roles:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
