"""docker-compose.yml must agree with the code it builds and runs.

There is no Docker engine in CI, so these checks read the files instead: Dockerfiles and the
modules they start exist, every service gets the settings it needs, the gateway's upstreams
match the service names and ports, and only the gateway is reachable from outside.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BUILT = sorted(name for name, service in SERVICES.items() if "build" in service)
GATEWAY = SERVICES["gateway"]
REQUIRED_ENV = ("DATABASE_URL", "NATS_URL", "PORT")
PASSED_THROUGH_ENV = (
    "UNIMATCH_EVENT_PREFIX",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "TELEGRAM_BOT_USERNAME",
    "TELEGRAM_WEBHOOK_URL",
    "MATCH_WEEKDAY",
    "MATCH_TIME",
    "MATCH_TIMEZONE",
    "UNIMATCH_ADMIN_EMAIL",
    "UNIMATCH_ADMIN_PASSWORD",
)


def dockerfile(name: str) -> Path:
    build = SERVICES[name]["build"]
    return ROOT / build["context"] / build["dockerfile"]


def instruction(name: str, keyword: str) -> str:
    """The argument of the (last) `keyword` instruction in the service's Dockerfile."""
    lines = [
        line for line in dockerfile(name).read_text().splitlines() if line.startswith(f"{keyword} ")
    ]
    assert lines, f"{dockerfile(name)} has no {keyword}"
    return lines[-1].removeprefix(f"{keyword} ").strip()


def test_the_four_services_are_built():
    assert BUILT == ["auth", "matching", "notifier", "profile"]


@pytest.mark.parametrize("name", BUILT)
def test_image_installs_the_pinned_versions(name):
    """The image gets the versions the tests ran against, and shared/ beside the service."""
    assert instruction(name, "RUN").startswith(
        f"pip install -c constraints.txt ./shared ./services/{name}"
    )
    copied = [
        line.split()[1]
        for line in dockerfile(name).read_text().splitlines()
        if line.startswith("COPY ")
    ]
    assert copied == ["constraints.txt", "shared/", f"services/{name}/"]
    assert "constraints.txt" not in (ROOT / ".dockerignore").read_text().split()


@pytest.mark.parametrize("name", BUILT)
def test_dockerfile_starts_an_existing_module(name):
    assert SERVICES[name]["build"]["context"] == "."  # shared/ must be in the build context
    assert dockerfile(name) == ROOT / "services" / name / "Dockerfile"
    command = json.loads(instruction(name, "CMD"))
    assert command[:2] == ["python", "-m"]
    module = command[2]
    assert (ROOT / "services" / name / module / "__main__.py").is_file()


@pytest.mark.parametrize("name", BUILT)
def test_service_gets_its_settings(name):
    env = SERVICES[name]["environment"]
    for key in (*REQUIRED_ENV, *PASSED_THROUGH_ENV):
        assert key in env, f"{name} lacks {key}"
    for key in PASSED_THROUGH_ENV:
        assert env[key] == f"${{{key}:-}}", f"{name} must pass {key} through from the host"
    assert env["PORT"] == instruction(name, "EXPOSE")
    assert env["PORT"] in " ".join(SERVICES[name]["healthcheck"]["test"])


@pytest.mark.parametrize("name", BUILT)
def test_service_urls_point_at_compose_servers(name):
    env = SERVICES[name]["environment"]
    database = urlsplit(env["DATABASE_URL"])
    postgres = SERVICES["postgres"]["environment"]
    assert database.hostname in SERVICES
    assert (database.username, database.password, database.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        f"/{postgres['POSTGRES_DB']}",
    )
    assert urlsplit(env["NATS_URL"]).hostname == "nats"


@pytest.mark.parametrize("name", BUILT)
def test_services_listen_beyond_loopback_only_where_compose_says_so(name):
    """Services default to loopback (a stray HOST does not widen it); in a container they must
    listen on the container's network for the gateway, and compose says so by name."""
    assert SERVICES[name]["environment"]["UNIMATCH_HOST"] == "0.0.0.0"
    assert "HOST" not in SERVICES[name]["environment"]


def test_auth_trusts_x_real_ip_from_compose_private_network():
    proxies = SERVICES["auth"]["environment"]["TRUSTED_PROXIES"].split(",")
    assert "172.16.0.0/12" in proxies  # docker's default bridge networks


def test_only_the_gateway_publishes_ports():
    assert [name for name, service in SERVICES.items() if "ports" in service] == ["gateway"]
    listen_port = GATEWAY["environment"]["UNIMATCH_PORT"]
    assert GATEWAY["ports"] == [f"${{UNIMATCH_PORT:-8000}}:{listen_port}"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_are_waited_for_until_healthy(name):
    for target, condition in SERVICES[name].get("depends_on", {}).items():
        assert target in SERVICES
        assert "healthcheck" in SERVICES[target], f"{target} has no healthcheck"
        assert condition == {"condition": "service_healthy"}


def test_gateway_mounts_existing_files():
    mounts = dict(volume.removesuffix(":ro").split(":") for volume in GATEWAY["volumes"])
    for source in mounts:
        assert (ROOT / source).exists(), source
    assert mounts["./gateway/Caddyfile"] == "/etc/caddy/Caddyfile"  # the caddy image's default
    assert mounts["./gateway/docs"] == GATEWAY["environment"]["DOCS_ROOT"]


def test_gateway_upstreams_match_services_and_caddyfile():
    caddyfile = (ROOT / "gateway" / "Caddyfile").read_text()
    placeholders = set(re.findall(r"\{\$(\w+_UPSTREAM)", caddyfile))
    upstreams = {
        key: value for key, value in GATEWAY["environment"].items() if key.endswith("_UPSTREAM")
    }
    assert set(upstreams) == placeholders
    for key, address in upstreams.items():
        host, port = address.split(":")
        assert key == f"{host.upper()}_UPSTREAM"
        assert host in BUILT
        assert SERVICES[host]["environment"]["PORT"] == port
    assert set(GATEWAY["depends_on"]) == set(BUILT)
