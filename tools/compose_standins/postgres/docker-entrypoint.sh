#!/bin/bash
# The official postgres image's start-up, as far as compose and testcontainers use it: on an
# empty PGDATA, initdb with POSTGRES_USER / POSTGRES_PASSWORD, create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sh and *.sql, accept password logins from any address
# (POSTGRES_HOST_AUTH_METHOD, default scram-sha-256); then run the server as user postgres.
# As the official script: -e but not -u, since init scripts are sourced into it.
set -Eeo pipefail

if [ "${1:0:1}" = "-" ]; then
    set -- postgres "$@"
fi

if [ "$1" = "postgres" ] && [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA"
    chown -R postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    # Exported with their defaults, as the official image does, for the init scripts.
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    user="$POSTGRES_USER"
    database="$POSTGRES_DB"
    method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$method" != "trust" ]; then
        echo "error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$method" \
        ${POSTGRES_INITDB_ARGS:-}
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all $method" >> "$PGDATA/pg_hba.conf"
    # Initialise over the socket only, so nothing connects before the set-up is done.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    if [ "$database" != "postgres" ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
            --set database="$database" <<< 'CREATE DATABASE :"database";'
    fi
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh)
                if [ -x "$script" ]; then
                    echo "running $script"; "$script"
                else
                    echo "sourcing $script"; . "$script"
                fi ;;
            *.sql) echo "running $script"
                psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$database" -f "$script" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
