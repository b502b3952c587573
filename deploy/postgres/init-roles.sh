#!/bin/sh
# compose's PostgreSQL: each service's own role owning its schema (docs/adr/018-service-credentials.md).
# Runs when the container initialises an empty volume (docker-entrypoint-initdb.d). For a volume
# made before, run it once: docker compose exec postgres sh /docker-entrypoint-initdb.d/10-unimatch-roles.sh
# Passwords: <SERVICE>_DATABASE_PASSWORD, as docker-compose.yml gives them to the services.
set -e  # not -u: sourced (when not executable), it would run in the entrypoint's shell
for service in auth profile matching notifier; do
  variable="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DATABASE_PASSWORD"
  password="$(printenv "$variable")"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v schema="$service" -v role="unimatch_$service" -v password="$password" <<'SQL'
SELECT set_config('unimatch.schema', :'schema', false),
       set_config('unimatch.role', :'role', false),
       set_config('unimatch.password', :'password', false);
\i /unimatch/grant-schema.sql
SQL
done
