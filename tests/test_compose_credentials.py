"""compose's per-service credentials (docs/adr/018-service-credentials.md): nats-server's
configuration is the one the table in unimatch_shared/access.py generates and nats-server
accepts it with compose's variables; PostgreSQL's initialisation makes every service's role."""

import re
import subprocess
from pathlib import Path

import yaml

from unimatch_shared.access import SERVICES
from unimatch_stack.credentials import COMPOSE_NATS_CONFIG, compose_nats_config
from unimatch_stack.infra import find_binary

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _default(value: str) -> str:
    """What ``${NAME:-default}`` gives when NAME is unset."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    assert match, f"{value}: not an operator variable with a default"
    return match.group(1)


def test_the_nats_configuration_is_generated_from_the_table():
    assert COMPOSE_NATS_CONFIG.read_text() == compose_nats_config(), (
        "deploy/nats-server.conf is stale: run `make nats-config`"
    )


def test_nats_server_accepts_the_configuration_with_composes_passwords(tmp_path):
    nats = COMPOSE["nats"]
    mounted = [v.split(":")[0] for v in nats["volumes"] if v.startswith("./")]
    assert mounted == ["./deploy/nats-server.conf"]
    assert "/etc/nats/nats-server.conf" in nats["command"]
    env = {key: _default(value) for key, value in nats["environment"].items()}
    assert set(env) == {"NATS_ADMIN_PASSWORD"} | {f"{s.upper()}_NATS_PASSWORD" for s in SERVICES}
    checked = subprocess.run(
        [find_binary("nats-server"), "-t", "-c", str(COMPOSE_NATS_CONFIG)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_postgres_initialisation_makes_every_services_role():
    postgres = COMPOSE["postgres"]
    mounts = dict(
        v.rsplit(":", 1)[0].split(":", 1) for v in postgres["volumes"] if v.startswith("./")
    )
    assert mounts == {
        "./deploy/postgres/init-roles.sh": "/docker-entrypoint-initdb.d/10-unimatch-roles.sh",
        "./deploy/postgres/grant-schema.sql": "/unimatch/grant-schema.sql",
    }
    script = (ROOT / "deploy" / "postgres" / "init-roles.sh").read_text()
    assert re.search(r"for service in ([\w ]+);", script).group(1).split() == list(SERVICES)
    for service in SERVICES:
        assert f"{service.upper()}_DATABASE_PASSWORD" in postgres["environment"]
