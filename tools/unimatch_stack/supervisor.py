"""Run the four services and the Caddy gateway as subprocesses, for `make run` and for tests.

Every process gets its own process group in the supervisor's session (so a Ctrl-C in the
terminal reaches only the supervisor, which then stops things in order, while the kernel
still schedules them as one session: docs/adr/012) and its own log file,
`<var_dir>/log/<name>.log`.

A service may run as several instances: separate processes on separate ports, each with its
own workers, killable one by one; the gateway balances across them
(docs/adr/024-several-instances.md). The first instance is named after the service
(`auth`), the others `auth-2`, `auth-3`, ...
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from unimatch_stack.infra import find_binary, log_tail, port_in_use

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY_DIR = REPO_ROOT / "gateway"
DEFAULT_GATEWAY_PORT = 8000
# Instance n of a service listens INSTANCE_PORT_STEP * (n - 1) above the first: auth on 8101,
# 8201, 8301, ... (make run); tests give every instance a free port instead.
INSTANCE_PORT_STEP = 100


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int

    @property
    def upstream_env(self) -> str:
        """The Caddyfile placeholder holding this service's address, e.g. AUTH_UPSTREAM."""
        return f"{self.name.upper()}_UPSTREAM"


SERVICES = (
    ServiceSpec("auth", "auth_service", 8101),
    ServiceSpec("profile", "profile_service", 8102),
    ServiceSpec("matching", "matching_service", 8103),
    ServiceSpec("notifier", "notifier_service", 8104),
)
GATEWAY = "gateway"


def instance_ports(first: int, count: int) -> list[int]:
    """The ports of a service's ``count`` instances, the first on ``first``."""
    if count < 1:
        raise ValueError(f"a service needs at least one instance, not {count}")
    return [first + INSTANCE_PORT_STEP * n for n in range(count)]


def instance_name(service: str, number: int) -> str:
    """``auth`` for the first instance, ``auth-2`` for the second, ..."""
    return service if number == 1 else f"{service}-{number}"


def _port_lists(ports: Mapping[str, int | Sequence[int]]) -> dict[str, list[int]]:
    return {name: [p] if isinstance(p, int) else list(p) for name, p in ports.items()}


class StackError(RuntimeError):
    """A process did not come up; the message names it and quotes the end of its log."""


def swagger_ui_dir() -> Path:
    """Swagger UI's files as installed from PyPI (swagger-ui-py, pinned in constraints.txt):
    the gateway serves them under /docs/swagger-ui/ (compose copies the same package's files
    into the gateway's image, gateway/Dockerfile)."""
    spec = importlib.util.find_spec("swagger_ui")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise StackError("swagger-ui-py is not installed: run `make run` (it installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class ManagedProcess:
    """One supervised subprocess with a log file and an HTTP readiness URL."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int,
        ready_path: str,
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.port = port
        self.ready_url = f"http://127.0.0.1:{port}{ready_path}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        # Otherwise the readiness check could be answered by a stray process from another run.
        if port_in_use(self.port):
            raise StackError(f"{self.name}: port {self.port} is already in use")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.argv)}\n")
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group (stopped as one, below), not its own session: Linux
                # schedules each session as one "autogroup" with a core's fair share, which
                # would let auth's SCHED_IDLE hashing take half the CPU from the read path
                # under a login flood (docs/adr/012-password-hashing-and-load-shedding.md).
                process_group=0,
            )

    def wait_ready(self, deadline: float) -> None:
        """Poll the readiness URL until it answers 200, the process dies or time runs out."""
        while not self._ready():
            if not self.running:
                code = self.proc.returncode if self.proc else None
                raise self._failure(f"exited with code {code} before becoming ready")
            if time.monotonic() > deadline:
                raise self._failure(f"not ready at {self.ready_url} in time")
            time.sleep(0.2)

    def stop(self, kill: bool = False, grace: float = 10.0) -> None:
        """SIGTERM (or SIGKILL right away), then SIGKILL after `grace` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.proc.pid, sig)  # the whole group, in case it spawned children

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _failure(self, reason: str) -> StackError:
        tail = "\n".join(f"[{self.name}] {line}" for line in log_tail(self.log_path).splitlines())
        return StackError(f"{self.name} {reason}; last lines of {self.log_path}:\n{tail}")


def gateway_threads() -> str:
    """Go's GOMAXPROCS for Caddy: GATEWAY_GOMAXPROCS, else half the CPUs (at least one).

    A proxy mostly waits on its upstreams; with one Go scheduler per core, each wake-up has
    idle schedulers spinning for work, which cost a third of Caddy's CPU per request on a
    2-core machine and left less for the services (docs/benchmarks.md)."""
    return os.environ.get("GATEWAY_GOMAXPROCS") or str(max(1, len(os.sched_getaffinity(0)) // 2))


def gateway_process(
    var_dir: Path,
    port: int,
    service_ports: Mapping[str, int | Sequence[int]],
    gateway_dir: Path = GATEWAY_DIR,
    env: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """Caddy in front of the services at `service_ports` (a port, or one per instance: Caddy
    balances across them); the parent's environment (e.g. UNIMATCH_CORS_ORIGINS,
    UNIMATCH_WEB_DIST) and `env` reach the Caddyfile."""
    ports = _port_lists(service_ports)
    gateway_env = {
        **os.environ,
        "UNIMATCH_PORT": str(port),
        "DOCS_ROOT": str(gateway_dir / "docs"),
        "PAGES_ROOT": str(gateway_dir / "pages"),
        "SWAGGER_UI_ROOT": str(swagger_ui_dir()),
        # Caddy keeps state under XDG dirs; keep it inside var/ rather than in $HOME.
        "XDG_CONFIG_HOME": str(var_dir / "caddy"),
        "XDG_DATA_HOME": str(var_dir / "caddy"),
        "GOMAXPROCS": gateway_threads(),
        # Several upstreams are one space-separated value: Caddy reads them as a list.
        **{
            spec.upstream_env: " ".join(f"127.0.0.1:{p}" for p in ports[spec.name])
            for spec in SERVICES
        },
        **(env or {}),
    }
    web_dist = gateway_env.pop("UNIMATCH_WEB_DIST", "")
    if web_dist:  # the built front end, served at / (README, "The web front end")
        if not (Path(web_dist) / "index.html").is_file():
            raise StackError(f"UNIMATCH_WEB_DIST={web_dist}: no index.html there")
        gateway_env["UNIMATCH_WEB_DIST"] = str(Path(web_dist).resolve())
    caddy = [
        find_binary("caddy"),
        "run",
        "--config",
        str(gateway_dir / "Caddyfile"),
        "--adapter",
        "caddyfile",
    ]
    return ManagedProcess(
        GATEWAY, caddy, gateway_env, port, "/docs", var_dir / "log" / "gateway.log"
    )


class Stack:
    """The four services plus the gateway, started and stopped together.

    `service_ports` gives a service's port, or a list of ports: one instance on each
    (`processes["auth"]`, `processes["auth-2"]`, ...). `commands` replaces the command line
    of individual services (tests run fakes with it); `extra_env` is added to every
    service's environment, on top of the parent's, and `service_env` to one service's (all
    its instances), on top of that: e.g.
    `service_env={"profile": {"DATABASE_URL": other_url}}` gives profile a server of its own.
    """

    def __init__(
        self,
        var_dir: Path,
        database_url: str,
        nats_url: str,
        gateway_port: int = DEFAULT_GATEWAY_PORT,
        service_ports: Mapping[str, int | Sequence[int]] | None = None,
        extra_env: Mapping[str, str] | None = None,
        commands: Mapping[str, Sequence[str]] | None = None,
        ready_timeout: float = 60.0,
        gateway_dir: Path = GATEWAY_DIR,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        var_dir = Path(var_dir).resolve()
        ports = _port_lists({spec.name: spec.port for spec in SERVICES} | dict(service_ports or {}))
        commands = dict(commands or {})
        service_env = dict(service_env or {})
        unknown = set(service_env) - {spec.name for spec in SERVICES}
        if unknown:
            raise ValueError(f"service_env names unknown services: {sorted(unknown)}")
        self.ready_timeout = ready_timeout
        self.gateway_port = gateway_port
        self.processes: dict[str, ManagedProcess] = {}
        self._instances: dict[str, list[str]] = {}
        for spec in SERVICES:
            argv = commands.get(spec.name, [sys.executable, "-m", spec.module])
            names = [instance_name(spec.name, n) for n in range(1, len(ports[spec.name]) + 1)]
            self._instances[spec.name] = names
            for name, port in zip(names, ports[spec.name], strict=True):
                env = {
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    "PORT": str(port),
                    "DATABASE_URL": database_url,
                    "NATS_URL": nats_url,
                    # Where auth keeps its signing key (docs/adr/015), shared by its instances.
                    "UNIMATCH_VAR_DIR": str(var_dir),
                    # Where an instance's worker processes pool their metrics (serve.py): one
                    # folder per instance, since each empties its own at start.
                    "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics" / name),
                    **(extra_env or {}),
                    **service_env.get(spec.name, {}),
                }
                self.processes[name] = ManagedProcess(
                    name, argv, env, port, "/readyz", var_dir / "log" / f"{name}.log"
                )
        self.processes[GATEWAY] = gateway_process(var_dir, gateway_port, ports, gateway_dir)

    @property
    def gateway_url(self) -> str:
        return f"http://localhost:{self.gateway_port}"

    def service_url(self, name: str) -> str:
        """One process's own address (``auth``: the first instance, ``auth-2``: the second)."""
        return f"http://127.0.0.1:{self.processes[name].port}"

    def instances(self, service: str) -> list[ManagedProcess]:
        """Every instance of one service, the first first."""
        return [self.processes[name] for name in self._instances[service]]

    def _service_processes(self) -> list[ManagedProcess]:
        return [p for spec in SERVICES for p in self.instances(spec.name)]

    def start(self) -> None:
        """Start the services, wait until all are ready, then the gateway; all or nothing."""
        try:
            services = self._service_processes()
            for process in services:
                process.start()
            deadline = time.monotonic() + self.ready_timeout
            for process in services:
                process.wait_ready(deadline)
            self.start_service(GATEWAY)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Services first (they may still be talking to each other), then the gateway."""
        for process in self._service_processes():
            process.stop()
        self.processes[GATEWAY].stop()

    def start_service(self, name: str) -> None:
        """(Re)start one process by name ("auth", "auth-2", ..., "gateway") and wait until it
        is ready."""
        process = self.processes[name]
        process.start()
        process.wait_ready(time.monotonic() + self.ready_timeout)

    def stop_service(self, name: str, kill: bool = False) -> None:
        """Stop one process by name; `kill=True` sends SIGKILL at once (crash simulation)."""
        self.processes[name].stop(kill=kill)

    def exited(self) -> list[ManagedProcess]:
        """Processes that were started and have died since (for the `make run` watchdog)."""
        return [p for p in self.processes.values() if p.proc is not None and not p.running]

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
