"""Infrastructure around the UniMatch services: `make run`, the gateway and test infrastructure.

- `infra`: embedded PostgreSQL and NATS under a var dir (used when no URLs are configured).
- `supervisor`: starts the services and the Caddy gateway as subprocesses (`Stack`).
- `run`: `python -m unimatch_stack.run`, what `make run` calls.
- `testinfra`: resolves PostgreSQL/NATS for a pytest session (`session_infra`).
- `compose`: what `make test-compose` needs before docker-compose.yml can come up (engine,
  Compose v2, base images or their stand-ins), and `Project` to drive it.
- `credentials`, `db_roles`: each service's own NATS user and database role (nats-server's
  generated configuration, `make nats-config`; docs/adr/018-service-credentials.md).
"""
