"""Each service's own PostgreSQL role: it owns the service's schema and has no rights on the
others' (docs/adr/new-service-credentials.md).

``grant_schemas`` is run by whoever administers the database — ``make run`` on its embedded
server, the test infrastructure, compose's one-shot ``db-roles`` container
(``python -m unimatch_shared.db_roles``) — with a role allowed to create roles. It is
idempotent: it creates or updates each role's password, gives it its schema (handing over a
schema and its objects made earlier by another owner, as ``make run`` did before roles
existed), and lets nobody else connect to the database. The services then connect as their
own role: ``run_migrations`` no longer creates the schema, and PostgreSQL itself refuses any
statement on another service's tables.
"""

import os
import sys
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

# Tables, partitioned tables, views and sequences change owner with ALTER TABLE; a sequence
# behind an identity or serial column follows its table and refuses to be changed alone.
_OWNED_RELATIONS = """
SELECT c.relname, c.relkind = 'm' AS materialized
FROM pg_class c
WHERE c.relnamespace = to_regnamespace(%(schema)s)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND pg_get_userbyid(c.relowner) <> %(role)s
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
  )
"""
_OWNED_TYPES = """
SELECT t.typname FROM pg_type t
WHERE t.typnamespace = to_regnamespace(%(schema)s)
  AND t.typtype IN ('e', 'd', 'r') AND pg_get_userbyid(t.typowner) <> %(role)s
"""


def role_url(admin_url: str, role: str, password: str) -> str:
    """``admin_url`` (same server, database and parameters such as ``sslmode``) as ``role``."""
    parts = urlsplit(admin_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    userinfo = f"{quote(role, safe='')}:{quote(password, safe='')}"
    return parts._replace(netloc=f"{userinfo}@{host}{port}").geturl()


def grant_schemas(admin_url: str, roles: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """Make each schema's role (``{schema: (role, password)}``) and give it the schema; return
    ``{schema: the database URL as that role}``."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        database = sql.Identifier(connection.info.dbname)
        # Only the roles granted below (and superusers) may connect; no one creates in public.
        connection.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
        connection.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for schema, (role, password) in roles.items():
            _ensure_role(connection, role, password)
            connection.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, sql.Identifier(role))
            )
            _give_schema(connection, schema, role)
    return {schema: role_url(admin_url, role, pw) for schema, (role, pw) in roles.items()}


def drop_roles(admin_url: str, roles: list[str]) -> None:
    """Drop roles made by ``grant_schemas`` once the databases holding their objects are gone
    (tests: each session's roles go with its database)."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for role in roles:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _ensure_role(connection: psycopg.Connection, role: str, password: str) -> None:
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    statement = (
        "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
    )
    connection.execute(sql.SQL(statement).format(sql.Identifier(role), sql.Literal(password)))


def _give_schema(connection: psycopg.Connection, schema: str, role: str) -> None:
    """Create ``schema`` owned by ``role``, or hand it over with everything in it."""
    names = {"schema": f'"{schema}"', "role": role}
    found = connection.execute("SELECT to_regnamespace(%(schema)s)", names).fetchone()
    if found is None or found[0] is None:
        connection.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(schema), sql.Identifier(role)
            )
        )
        return
    owner = sql.Identifier(role)
    connection.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), owner))
    for name, materialized in connection.execute(_OWNED_RELATIONS, names).fetchall():
        kind = "ALTER MATERIALIZED VIEW" if materialized else "ALTER TABLE"
        connection.execute(
            sql.SQL(kind + " {} OWNER TO {}").format(sql.Identifier(schema, name), owner)
        )
    for (name,) in connection.execute(_OWNED_TYPES, names).fetchall():
        connection.execute(
            sql.SQL("ALTER TYPE {} OWNER TO {}").format(sql.Identifier(schema, name), owner)
        )


def main() -> None:
    """Compose's ``db-roles`` container: ``DATABASE_URL`` (a role that may create roles) and,
    per service, ``<SERVICE>_DATABASE_ROLE`` / ``<SERVICE>_DATABASE_PASSWORD``, for the
    schemas named in ``UNIMATCH_SCHEMAS`` (comma-separated)."""
    environ = os.environ
    schemas = [s.strip() for s in environ["UNIMATCH_SCHEMAS"].split(",") if s.strip()]
    roles = {
        schema: (
            environ[f"{schema.upper()}_DATABASE_ROLE"],
            environ[f"{schema.upper()}_DATABASE_PASSWORD"],
        )
        for schema in schemas
    }
    grant_schemas(environ["DATABASE_URL"], roles)
    print(f"roles ready for schemas {', '.join(schemas)}", file=sys.stderr)


if __name__ == "__main__":
    main()
