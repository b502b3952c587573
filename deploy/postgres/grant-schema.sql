-- One service's own role, owning its schema and nothing else (docs/adr/018-service-credentials.md).
-- Idempotent: creates the role or resets its password; creates the schema owned by it, or hands
-- over a schema (and every table, view, sequence and type in it) made earlier by another owner;
-- lets no one but the roles granted here, and superusers, connect to the database.
-- Reads its parameters from settings: unimatch.schema, unimatch.role, unimatch.password
-- (set_config). Run by `make run` and the tests (unimatch_stack/db_roles.py) and by compose's
-- PostgreSQL at initialisation (deploy/postgres/init-roles.sh).
DO $grant$
DECLARE
  target_schema text := current_setting('unimatch.schema');
  target_role text := current_setting('unimatch.role');
  secret text := current_setting('unimatch.password');
  item record;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = target_role) THEN
    EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', target_role, secret);
  ELSE
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', target_role, secret);
  END IF;
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), target_role);
  IF to_regnamespace(quote_ident(target_schema)) IS NULL THEN
    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', target_schema, target_role);
    RETURN;
  END IF;
  EXECUTE format('ALTER SCHEMA %I OWNER TO %I', target_schema, target_role);
  -- A sequence behind an identity or serial column follows its table (and refuses to be
  -- changed alone).
  FOR item IN
    SELECT c.relname, c.relkind FROM pg_class c
    WHERE c.relnamespace = to_regnamespace(quote_ident(target_schema))
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND pg_get_userbyid(c.relowner) <> target_role
      AND NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
      )
  LOOP
    EXECUTE format(
      CASE WHEN item.relkind = 'm' THEN 'ALTER MATERIALIZED VIEW %I.%I OWNER TO %I'
           ELSE 'ALTER TABLE %I.%I OWNER TO %I' END,
      target_schema, item.relname, target_role
    );
  END LOOP;
  FOR item IN
    SELECT t.typname FROM pg_type t
    WHERE t.typnamespace = to_regnamespace(quote_ident(target_schema))
      AND t.typtype IN ('e', 'd', 'r') AND pg_get_userbyid(t.typowner) <> target_role
  LOOP
    EXECUTE format('ALTER TYPE %I.%I OWNER TO %I', target_schema, item.typname, target_role);
  END LOOP;
END
$grant$;
