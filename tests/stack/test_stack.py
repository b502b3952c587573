"""The local stack: the gateway's routing (docs/api.md, One origin), the supervisor, the
embedded servers.

The gateway tests run the real Caddyfile with the real Caddy binary in front of fake services
(fake_service.py) that echo what they received, so no real service is needed.
"""

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import nats
import psycopg
import pytest

from tests.support.helpers import eventually
from unimatch_stack import run, testinfra
from unimatch_stack.infra import (
    EmbeddedNats,
    EmbeddedPostgres,
    embedded_nats,
    embedded_postgres,
    ensure_database,
    find_binary,
    free_ports,
)
from unimatch_stack.supervisor import GATEWAY_DIR, SERVICES, Stack, StackError, swagger_ui_dir

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")
NAMES = [spec.name for spec in SERVICES]


def fake_stack(var_dir: Path, **overrides) -> Stack:
    *service_ports, gateway_port = free_ports(len(NAMES) + 1)
    options = {
        "database_url": "postgresql://fake@127.0.0.1:1/fake",
        "nats_url": "nats://127.0.0.1:1",
        "gateway_port": gateway_port,
        "service_ports": dict(zip(NAMES, service_ports, strict=True)),
        "extra_env": {"UNIMATCH_EVENT_PREFIX": "tfake."},
        "commands": {name: [sys.executable, str(FAKE_SERVICE), name] for name in NAMES},
    }
    return Stack(var_dir, **(options | overrides))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with fake_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


@pytest.fixture
def gateway(stack):
    with httpx.Client(base_url=stack.gateway_url, follow_redirects=False, timeout=10) as client:
        yield client


# --- gateway -------------------------------------------------------------------------------


@pytest.mark.parametrize("compose", [False, True])
def test_caddyfile_validates(tmp_path, compose):
    """As make run configures it, and as compose does (replicas found by DNS)."""
    env = {
        **os.environ,
        "UNIMATCH_PORT": "18000",
        "DOCS_ROOT": str(GATEWAY_DIR / "docs"),
        "PAGES_ROOT": str(GATEWAY_DIR / "pages"),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        **{spec.upstream_env: f"{spec.name}:{spec.port}" for spec in SERVICES},
        **{
            f"{spec.name.upper()}_DISCOVERY": f"dynamic a {spec.name} {spec.port}"
            for spec in SERVICES
            if compose
        },
    }
    result = subprocess.run(
        [
            find_binary("caddy"),
            "validate",
            "--config",
            str(GATEWAY_DIR / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


ROUTES = [
    ("/auth/login", "auth"),
    ("/auth/login/", "auth"),
    ("/auth", "auth"),
    ("/auth/", "auth"),
    ("/users/api/register", "auth"),
    ("/users/api/register/", "auth"),
    ("/users/api/register/confirm", "auth"),
    ("/users/api/tg-auth", "notifier"),
    ("/users/api/tg-auth/", "notifier"),
    ("/users/api/tg-link", "notifier"),
    ("/users/api/tg-link/", "notifier"),
    ("/users/api/tg-link/123", "notifier"),
    ("/users/api/unsubscribe/7.abc/", "notifier"),
    ("/users/api/unsubscribe/7.abc", "notifier"),
    ("/telegram/webhook", "notifier"),
    ("/telegram/webhook/", "notifier"),
    ("/users/api/days-to-match", "matching"),
    ("/users/api/days-to-match/", "matching"),
    ("/matching/admin/run", "matching"),
    ("/matching/admin/run/", "matching"),
    ("/users/api/me", "profile"),
    ("/users/api/me/", "profile"),
    ("/users/api/registered", "profile"),  # only /register and below belong to auth
    ("/users/api/password-reset", "auth"),
    ("/users/api/password-reset/confirm/", "auth"),
    ("/users/api/email-change/confirm", "auth"),
    ("/api/auth/users/reset_password/", "auth"),
    ("/api/auth/users/reset_password_confirm", "auth"),
    ("/api/auth/users/email_change_confirm/", "auth"),
    ("/api/auth/users/me/", "profile"),
    ("/users/", "profile"),
    ("/users", "profile"),
]


@pytest.mark.parametrize(("path", "service"), ROUTES)
def test_gateway_routes_full_path_without_redirect(gateway, path, service):
    response = gateway.get(path, params={"q": "1"})
    assert response.status_code == 200
    echo = response.json()
    assert echo["service"] == service
    assert echo["path"] == path
    assert echo["query"] == "q=1"


def test_gateway_passes_methods_and_bodies(gateway):
    response = gateway.post("/users/api/me", content=b"x" * 512 * 1024)
    assert response.status_code == 200
    assert response.json()["method"] == "POST"
    assert response.json()["body_length"] == 512 * 1024


def test_gateway_strips_identity_headers(gateway):
    sent = {
        "X-User-Id": "1",
        "X-User-Staff": "true",
        "X-Forwarded-User": "admin",
        "X-Remote-User": "admin",
        "X-Request-Id": "keep-me",
    }
    headers = gateway.get("/users/api/me", headers=sent).json()["headers"]
    for name in ("x-user-id", "x-user-staff", "x-forwarded-user", "x-remote-user"):
        assert name not in headers
    assert headers["x-request-id"] == "keep-me"


def test_gateway_rejects_bodies_over_one_mebibyte(gateway):
    response = gateway.post("/users/api/me", content=b"x" * 2 * 1024 * 1024)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is too large."}


@pytest.mark.parametrize("path", ["/", "/nope", "/authx", "/apix", "/healthz"])
def test_gateway_unknown_paths_are_json_404(gateway, path):
    response = gateway.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/api", "/api/users", "/api/hobby"])
def test_gateway_unknown_web_paths_are_404_in_the_web_shape(gateway, path):
    response = gateway.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Не найдено"}


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_gateway_serves_swagger_ui(gateway, path):
    response = gateway.get(path)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    for name in NAMES:
        assert f"/openapi/{name}.json" in response.text


def test_swagger_ui_loads_only_same_origin_assets_and_the_gateway_serves_them(gateway):
    """No CDN: every script and stylesheet /docs names is a path on the gateway itself,
    served from the pinned copy (swagger-ui-py); nothing else is fetched from elsewhere."""
    page = gateway.get("/docs").text
    assets = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)""", page)
    assert len(assets) == 3, assets
    assert not re.search(r"""(?i)https?://|["'(=]\s*//""", page), "the page names another origin"
    expected = {
        ".js": ("javascript", "SwaggerUI"),
        ".css": ("text/css", ".swagger-ui"),
    }
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        response = gateway.get(asset)
        assert response.status_code == 200, asset
        content_type, marker = expected[Path(asset).suffix]
        assert content_type in response.headers["content-type"], asset
        assert marker in response.text, asset


def test_swagger_ui_files_are_the_pinned_package(gateway):
    served = gateway.get("/docs/swagger-ui/swagger-ui-bundle.js").content
    pinned = (swagger_ui_dir() / "swagger-ui-bundle.js").read_bytes()
    assert served == pinned
    assert gateway.get("/docs/swagger-ui/nope.js").status_code == 404


@pytest.mark.parametrize("name", NAMES)
def test_gateway_serves_each_openapi_spec(gateway, name):
    response = gateway.get(f"/openapi/{name}.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == name


# --- supervisor ----------------------------------------------------------------------------


def test_services_get_infra_and_extra_env(stack):
    for name in NAMES:
        env = httpx.get(f"{stack.service_url(name)}/anything", timeout=10).json()["env"]
        assert env == {
            "DATABASE_URL": "postgresql://fake@127.0.0.1:1/fake",
            "NATS_URL": "nats://127.0.0.1:1",
            "PORT": str(stack.processes[name].port),
            "UNIMATCH_EVENT_PREFIX": "tfake.",
        }


def test_service_env_overrides_one_service_only(tmp_path):
    other = "postgresql://other@127.0.0.1:2/other"
    with fake_stack(tmp_path, service_env={"profile": {"DATABASE_URL": other}}) as running:
        for name in NAMES:
            env = httpx.get(f"{running.service_url(name)}/anything", timeout=10).json()["env"]
            assert env["DATABASE_URL"] == (
                other if name == "profile" else "postgresql://fake@127.0.0.1:1/fake"
            )
            assert env["UNIMATCH_EVENT_PREFIX"] == "tfake."


def test_gateway_runs_on_half_the_cpus_unless_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_GOMAXPROCS", raising=False)
    half = max(1, len(os.sched_getaffinity(0)) // 2)
    assert fake_stack(tmp_path).processes["gateway"].env["GOMAXPROCS"] == str(half)
    monkeypatch.setenv("GATEWAY_GOMAXPROCS", "3")
    assert fake_stack(tmp_path).processes["gateway"].env["GOMAXPROCS"] == "3"


def test_service_env_refuses_unknown_services(tmp_path):
    with pytest.raises(ValueError, match="profiles"):
        fake_stack(tmp_path, service_env={"profiles": {"DATABASE_URL": "x"}})


@pytest.mark.parametrize("kill", [False, True])
def test_one_service_can_be_stopped_and_restarted(stack, gateway, kill):
    stack.stop_service("profile", kill=kill)
    assert not stack.processes["profile"].running
    down = gateway.get("/users/api/me")
    assert down.status_code == 503
    assert down.json() == {"detail": "Service unavailable."}
    assert down.headers["retry-after"] == "1"
    assert gateway.get("/auth/login").status_code == 200  # the others are unaffected

    stack.start_service("profile")
    assert gateway.get("/users/api/me").json()["service"] == "profile"


# --- several instances of each service (docs/adr/024-several-instances.md) -----------------


@pytest.fixture(scope="module")
def twin_stack(tmp_path_factory):
    """Two fake instances of every service behind the real gateway."""
    ports = iter(free_ports(2 * len(NAMES)))
    with fake_stack(
        tmp_path_factory.mktemp("twins"),
        service_ports={name: [next(ports), next(ports)] for name in NAMES},
    ) as running:
        yield running


def served_by(response: httpx.Response) -> str:
    return response.json()["env"]["PORT"]


def test_make_run_reads_instance_counts_per_service(monkeypatch):
    for spec in SERVICES:
        for variable in ("INSTANCES", "PORT"):
            monkeypatch.delenv(f"{spec.name.upper()}_{variable}", raising=False)
    monkeypatch.setenv("UNIMATCH_INSTANCES", "2")
    monkeypatch.setenv("AUTH_INSTANCES", "3")
    monkeypatch.setenv("NOTIFIER_PORT", "9104")
    assert run._service_ports() == {
        "auth": [8101, 8201, 8301],
        "profile": [8102, 8202],
        "matching": [8103, 8203],
        "notifier": [9104, 9204],
    }
    monkeypatch.setenv("PROFILE_INSTANCES", "0")
    with pytest.raises(StackError, match="profile: the instance count"):
        run._service_ports()


def test_instances_get_their_own_ports_logs_and_metrics_folders(twin_stack):
    for name in NAMES:
        first, second = twin_stack.instances(name)
        assert (first.name, second.name) == (name, f"{name}-2")
        assert first.port != second.port
        assert second.log_path.name == f"{name}-2.log"
        folders = {p.env["PROMETHEUS_MULTIPROC_DIR"] for p in (first, second)}
        assert len(folders) == 2
    upstreams = twin_stack.processes["gateway"].env["PROFILE_UPSTREAM"].split()
    assert upstreams == [f"127.0.0.1:{p.port}" for p in twin_stack.instances("profile")]


def test_gateway_balances_across_instances(twin_stack):
    with httpx.Client(base_url=twin_stack.gateway_url, timeout=10) as gateway:
        for path in ("/auth/login", "/users/api/me", "/users/api/days-to-match", "/telegram/x"):
            ports = {served_by(gateway.get(path)) for _ in range(20)}
            assert len(ports) == 2, path


def answers_across_a_kill(stack, send, path: str, killed: str) -> list[httpx.Response]:
    """Four slow requests (1.5 s), started 50 ms apart so that the gateway's least-busy
    choice puts two on each instance; once all four are in flight, the instance ``killed``
    is SIGKILLed. Their answers."""
    with ThreadPoolExecutor(4) as pool:
        in_flight = []
        for _ in range(4):
            in_flight.append(pool.submit(send, path, params={"sleep": "1.5"}))
            time.sleep(0.05)
        time.sleep(0.3)
        stack.stop_service(killed, kill=True)
        return [future.result() for future in in_flight]


def test_killed_instance_costs_no_request(twin_stack):
    """Killed, an instance refuses connections: the gateway sends every request, POSTs too,
    to the other one (nothing was sent yet); a GET cut off mid-request is retried there."""
    first, second = twin_stack.instances("matching")
    with httpx.Client(base_url=twin_stack.gateway_url, timeout=20) as gateway:
        cut_off = answers_across_a_kill(twin_stack, gateway.get, "/matching/slow", "matching-2")
        try:
            assert [r.status_code for r in cut_off] == [200] * 4
            assert {served_by(r) for r in cut_off} == {str(first.port)}
            for _ in range(20):
                for response in (gateway.get("/matching/x"), gateway.post("/matching/x")):
                    assert response.status_code == 200
                    assert served_by(response) == str(first.port)
        finally:
            twin_stack.start_service("matching-2")
        # Back and ready, it is probed healthy and gets requests again.
        eventually(
            lambda: str(second.port) in {served_by(gateway.get("/matching/x")) for _ in range(10)},
            "the restarted instance gets requests again",
            interval=0.2,
        )


def test_post_cut_off_by_a_dying_instance_is_a_clear_503(twin_stack):
    """A POST may have been applied before its instance died, so it is not replayed: the
    caller gets 503 with Retry-After and decides (docs/api.md, Errors)."""
    first, second = twin_stack.instances("profile")
    with httpx.Client(base_url=twin_stack.gateway_url, timeout=20) as gateway:
        answers = answers_across_a_kill(twin_stack, gateway.post, "/users/api/me", "profile-2")
        try:
            assert sorted(r.status_code for r in answers) == [200, 200, 503, 503]
            for response in answers:
                if response.status_code == 503:
                    assert response.json() == {"detail": "Service unavailable."}
                    assert response.headers["retry-after"] == "1"
                else:
                    assert served_by(response) == str(first.port)
        finally:
            twin_stack.start_service("profile-2")


def test_stack_reports_a_service_that_dies_and_stops_the_rest(tmp_path):
    crashing = [sys.executable, "-c", "print('boom: no DATABASE_URL'); raise SystemExit(3)"]
    broken = fake_stack(
        tmp_path,
        commands={
            **{name: [sys.executable, str(FAKE_SERVICE), name] for name in NAMES},
            "matching": crashing,
        },
    )
    with pytest.raises(StackError, match=r"matching exited with code 3") as error:
        broken.start()
    assert "[matching] boom: no DATABASE_URL" in str(error.value)
    assert not any(process.running for process in broken.processes.values())


def test_stack_reports_a_service_that_never_gets_ready(tmp_path):
    hanging = [sys.executable, "-c", "import time; time.sleep(300)"]
    broken = fake_stack(tmp_path, commands={name: hanging for name in NAMES}, ready_timeout=1)
    with pytest.raises(StackError, match=r"auth not ready at http://127\.0\.0\.1:\d+/readyz"):
        broken.start()
    assert not any(process.running for process in broken.processes.values())


def test_stack_refuses_a_port_that_is_taken(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        broken = fake_stack(tmp_path, gateway_port=taken)
        with pytest.raises(StackError, match=rf"gateway: port {taken} is already in use"):
            broken.start()
    assert not any(process.running for process in broken.processes.values())


# --- embedded servers and test infrastructure ----------------------------------------------


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range():
    """An outgoing connection takes an ephemeral port, so it cannot take a chosen one."""
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert all(10_000 <= port < ephemeral_start for port in ports)
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))


def test_embedded_postgres_accepts_connections_and_keeps_data(tmp_path):
    with embedded_postgres(tmp_path, port=0) as server_url:
        assert ":5432/" not in server_url
        url = ensure_database(server_url, "unimatch")
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            conn.execute("create table kept (value text)")
            conn.execute("insert into kept values ('still here')")

    with embedded_postgres(tmp_path, port=0) as server_url:
        url = ensure_database(server_url, "unimatch")
        with psycopg.connect(url) as conn:
            assert conn.execute("select value from kept").fetchall() == [("still here",)]


def test_embedded_servers_restart_on_the_same_port(tmp_path):
    postgres = EmbeddedPostgres(tmp_path / "pg", port=0)
    broker = EmbeddedNats(tmp_path / "nats", port=0)
    try:
        postgres.start()
        broker.start()
        pg_port, nats_port = postgres.port, broker.port
        postgres.stop()
        broker.kill()
        assert postgres.port is None
        postgres.start()
        broker.start()
        assert (postgres.port, broker.port) == (pg_port, nats_port)
    finally:
        postgres.stop()
        broker.stop()


async def test_embedded_nats_has_jetstream_and_keeps_streams(tmp_path):
    with embedded_nats(tmp_path, port=0) as url:
        assert not url.endswith(":4222")
        client = await nats.connect(url)
        jetstream = client.jetstream()
        assert (await jetstream.account_info()).streams == 0
        await jetstream.add_stream(name="KEPT", subjects=["kept.>"])
        await jetstream.publish("kept.one", b"still here")
        await client.close()

    with embedded_nats(tmp_path, port=0) as url:
        client = await nats.connect(url)
        info = await client.jetstream().stream_info("KEPT")
        await client.close()
    assert info.state.messages == 1


def test_session_infra_falls_back_to_embedded_servers(monkeypatch):
    monkeypatch.setattr(testinfra, "docker_available", lambda: False)
    with testinfra.session_infra(environ={}) as infra:
        assert infra.sources == {"postgres": "embedded", "nats": "embedded"}
        assert re.fullmatch(r"t[0-9a-f]{6}\.", infra.event_prefix)
        assert re.search(r"/unimatch_test_[0-9a-f]{8}$", infra.database_url)
        with psycopg.connect(infra.database_url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


@contextmanager
def image_that_cannot_be_had():
    """What testcontainers does where no registry answers: the pull fails, nothing started."""
    from docker.errors import ImageNotFound

    raise ImageNotFound("pull access denied for postgres, repository does not exist")
    yield "never reached"


def test_session_infra_falls_back_when_docker_cannot_start_the_container(monkeypatch):
    """An engine that answers but cannot pull postgres:16 / nats:2 (no registry reachable)
    is passed over with a warning, server by server: the session gets the embedded ones."""
    monkeypatch.setattr(testinfra, "docker_available", lambda: True)
    monkeypatch.setattr(testinfra, "_postgres_container", image_that_cannot_be_had)
    monkeypatch.setattr(testinfra, "_nats_container", image_that_cannot_be_had)
    with (
        pytest.warns(UserWarning, match="ImageNotFound.*using the embedded server") as warned,
        testinfra.session_infra(environ={}) as infra,
    ):
        assert infra.sources == {"postgres": "embedded", "nats": "embedded"}
        with psycopg.connect(infra.database_url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        nats_port = int(infra.nats_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", nats_port), timeout=5):
            pass
    assert len(warned) == 2


@pytest.mark.skipif(not testinfra.docker_available(), reason="needs a running Docker engine")
def test_session_infra_falls_back_when_a_real_engine_cannot_pull(monkeypatch, tmp_path):
    """The same through testcontainers and a real engine, with an image no registry has
    (NATS from the environment: one that answers, since the session tidies its streams)."""
    from testcontainers.core.container import DockerContainer

    @contextmanager
    def unpullable():
        with DockerContainer("unimatch.invalid/absent:never") as container:
            yield container.get_container_host_ip()

    monkeypatch.setattr(testinfra, "_postgres_container", unpullable)
    with (
        embedded_nats(tmp_path, port=0) as nats_url,
        pytest.warns(UserWarning, match="using the embedded server"),
        testinfra.session_infra(environ={"NATS_URL": nats_url}) as infra,
    ):
        assert infra.sources == {"postgres": "embedded", "nats": "env"}
        with psycopg.connect(infra.database_url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_session_infra_uses_env_servers_with_a_fresh_database(tmp_path):
    # A NATS that answers: the session forgets its event prefix there at the end.
    with (
        embedded_postgres(tmp_path, port=0) as server_url,
        embedded_nats(tmp_path, port=0) as nats_url,
    ):
        environ = {"DATABASE_URL": server_url, "NATS_URL": nats_url}
        with testinfra.session_infra(environ=environ) as infra:
            assert infra.sources == {"postgres": "env", "nats": "env"}
            assert infra.nats_url == nats_url
            database = infra.database_url.rsplit("/", 1)[1]
            with psycopg.connect(infra.database_url) as conn:
                assert conn.execute("select current_database()").fetchone() == (database,)
        with psycopg.connect(server_url) as conn:
            left = conn.execute("select 1 from pg_database where datname = %s", (database,))
            assert left.fetchone() is None
