"""docker-compose.yml and the Dockerfiles must agree with the code they build and run.

There is no Docker engine (nor registry) here, so nothing is built: the Dockerfiles are
parsed and replayed against the repository instead. What a broken image would show is checked
from the meaning of each instruction, not its text: every COPY source exists in the build
context and survives .dockerignore; what RUN installs was copied into the image first and is
a project whose dependencies constraints.txt pins (to versions the specifiers accept); the
CMD's module lies in a project the image installs, and its app factory imports; every
variable compose sets is a setting the service reads; the ports agree everywhere.
"""

import ast
import fnmatch
import importlib
import importlib.metadata
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from unimatch_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The Python services compose builds (the gateway's image is built too: Caddy and Swagger UI).
BUILT = sorted(
    name for name, service in SERVICES.items() if "build" in service and name != "gateway"
)
GATEWAY = SERVICES["gateway"]
SHARED_ENV = COMPOSE["x-service-env"]  # given to every service through a YAML anchor
CONSTRAINTS = {
    canonicalize_name(name): version
    for name, version in (
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
}


@dataclass
class Image:
    """A Dockerfile replayed without Docker: which context paths land where."""

    context: Path
    build_args: dict[str, str]  # compose's `args:`, given to the Dockerfile's ARGs
    workdir: PurePosixPath = PurePosixPath("/")
    files: dict[PurePosixPath, Path] = field(default_factory=dict)  # image path -> context
    env: dict[str, str] = field(default_factory=dict)
    runs: list[list[str]] = field(default_factory=list)  # each RUN, split into commands
    copy_sources: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)  # the ARGs declared so far

    def expand(self, text: str) -> str:
        """``$NAME``/``${NAME}`` replaced as Docker does at build time (ARGs and ENVs)."""
        values = self.args | self.env
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m[1] or m[2]], text)

    def command(self) -> list[str]:
        """What the container runs: CMD, through its ``sh -c "exec ..."`` if it has one."""
        if self.cmd[:2] != ["sh", "-c"]:
            return self.cmd
        words = shlex.split(self.expand(self.cmd[2]))
        return words[1:] if words[0] == "exec" else words

    def path(self, image_path: str) -> PurePosixPath:
        return self.workdir / image_path

    def source(self, image_path: str) -> Path | None:
        """The context path copied to ``image_path`` (relative to WORKDIR), if any."""
        target = self.path(image_path.rstrip("/") or ".")
        for copied, source in self.files.items():
            if target == copied:
                return source
            if target.is_relative_to(copied) and source.is_dir():
                return source / target.relative_to(copied)
        return None


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, argument) pairs, continuation lines joined, comments dropped."""
    joined, pending = [], ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [
        (keyword.upper(), rest.strip())
        for keyword, rest in (line.strip().split(None, 1) for line in joined)
    ]


def arguments(text: str) -> list[str]:
    """An instruction's arguments, JSON (exec) form or shell form."""
    return json.loads(text) if text.startswith("[") else shlex.split(text)


def replay(name: str) -> Image:
    build = SERVICES[name]["build"]
    image = Image(context=ROOT / build["context"], build_args=build.get("args", {}))
    for keyword, raw in instructions(image.context / build["dockerfile"]):
        rest = raw if keyword == "CMD" else image.expand(raw)  # CMD runs later, in a shell
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            image.args[name] = image.build_args.get(name, default)
        elif keyword == "WORKDIR":
            image.workdir = image.path(rest)
        elif keyword == "ENV":
            image.env |= dict(item.split("=", 1) for item in shlex.split(rest))
        elif keyword == "COPY":
            *sources, destination = [a for a in arguments(rest) if not a.startswith("--")]
            for source in sources:
                image.copy_sources.append(source)
                target = image.path(destination)
                if destination.endswith("/") and not source.endswith("/"):
                    target = target / PurePosixPath(source).name
                image.files[target] = image.context / source
        elif keyword == "RUN":
            image.runs.append([shlex.split(c) for c in re.split(r"&&|;", rest)])
        elif keyword == "EXPOSE":
            image.exposed += rest.split()
        elif keyword == "CMD":
            image.cmd = arguments(rest)
    return image


def ignored(relative: str) -> bool:
    """Whether .dockerignore keeps ``relative`` (a context path) out of the build context."""
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = PurePosixPath(relative.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def installed_projects(image: Image) -> dict[str, Path]:
    """{image path: context directory} of every local project a RUN pip-installs."""
    projects = {}
    for args in (
        command[2:] for run in image.runs for command in run if command[:2] == ["pip", "install"]
    ):
        words = iter(args)
        for word in words:
            if word in ("-c", "--constraint", "-r", "--requirement"):
                next(words)
            elif word.startswith(("./", "/")):
                projects[word] = image.source(word)
    return projects


def settings_class(name: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{name}_service.settings")
    [found] = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    ]
    return found


def test_the_four_services_are_built():
    assert BUILT == ["auth", "matching", "notifier", "profile"]


def test_the_four_services_share_one_dockerfile_each_with_its_own_code():
    assert {SERVICES[name]["build"]["dockerfile"] for name in BUILT} == {"services/Dockerfile"}
    for name in BUILT:
        copied = {source.relative_to(ROOT) for source in replay(name).files.values()}
        assert Path("services", name) in copied
        assert not [
            path
            for path in copied
            if path.parts[0] == "services" and path != Path("services", name)
        ]


@pytest.mark.parametrize("name", BUILT)
def test_every_copy_source_is_in_the_build_context(name):
    image = replay(name)
    assert image.copy_sources, "the image copies nothing"
    for source in image.copy_sources:
        assert (image.context / source).exists(), f"COPY {source}: no such file in the context"
        assert not ignored(source), f"COPY {source}: .dockerignore keeps it out of the context"


@pytest.mark.parametrize("name", BUILT)
def test_the_image_installs_what_it_copied_with_the_pinned_versions(name):
    """pip runs with -c constraints.txt on projects copied in before; every third-party
    dependency of theirs is pinned there, to a version the project accepts."""
    image = replay(name)
    commands = [
        command for run in image.runs for command in run if command[:2] == ["pip", "install"]
    ]
    assert commands, "the image installs nothing"
    for command in commands:
        assert "-c" in command, f"{command}: not constrained"
        constraints = image.source(command[command.index("-c") + 1])
        assert constraints == ROOT / "constraints.txt", "the constraints file is not copied in"
    projects = installed_projects(image)
    assert set(projects) >= {"./shared", f"./services/{name}"}
    local = set()
    requirements = []
    for path, source in projects.items():
        assert source is not None, f"pip install {path}: not copied into the image"
        project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
        local.add(canonicalize_name(project["name"]))
        requirements += [Requirement(r) for r in project.get("dependencies", [])]
    for requirement in dependency_closure(requirements, local):
        key = canonicalize_name(requirement.name)
        assert key in CONSTRAINTS, f"{requirement} is not pinned in constraints.txt"
        assert requirement.specifier.contains(CONSTRAINTS[key], prereleases=True), (
            f"constraints.txt pins {key}=={CONSTRAINTS[key]}, outside {requirement}"
        )


def dependency_closure(requirements: list[Requirement], local: set[str]) -> list[Requirement]:
    """Every requirement pip would resolve from these, transitively (read from the metadata
    of what this environment installed from the same constraints; the image's platform is
    this one's: Linux, Python 3.11)."""
    found, todo, seen = [], list(requirements), set()
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        if key in local or (str(requirement), key) in seen:
            continue
        seen.add((str(requirement), key))
        found.append(requirement)
        extras = requirement.extras or {""}
        for text in importlib.metadata.requires(requirement.name) or []:
            nested = Requirement(text)
            if nested.marker is None or any(nested.marker.evaluate({"extra": e}) for e in extras):
                todo.append(nested)
    return found


@pytest.mark.parametrize("name", BUILT)
def test_the_command_runs_a_module_the_image_installs_and_it_imports(name):
    image = replay(name)
    command = image.command()
    assert command[:2] == ["python", "-m"], image.cmd
    module = command[2]
    package = importlib.import_module(module)
    package_dir = Path(package.__file__).parent
    installed = [source for source in installed_projects(image).values() if source]
    assert any(package_dir.is_relative_to(source) for source in installed), (
        f"{module} is not in a project the image installs"
    )
    main = package_dir / "__main__.py"
    assert main.is_file(), f"python -m {module}: no __main__.py"
    # __main__ starts the server; check the app factory it names instead of running it.
    factories = [
        node.args[0].value
        for node in ast.walk(ast.parse(main.read_text()))
        if isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and ":" in str(node.args[0].value)
    ]
    assert factories, f"{main} names no app factory"
    for factory in factories:
        module_name, attribute = factory.split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute)), factory


@pytest.mark.parametrize("name", BUILT)
def test_compose_sets_only_settings_the_service_reads(name):
    """A variable the service's settings do not read is a typo, a leftover, or a secret handed
    to a service that has no use for it (the bot token belongs to the notifier alone, the
    admin password to auth): so the shared block holds only what every service reads."""
    fields = {
        str(info.validation_alias or key).upper()  # a field may read a variable of another name
        for key, info in settings_class(name).model_fields.items()
    }
    for key in SERVICES[name]["environment"]:
        assert key in fields, f"{name}: compose sets {key}, which its settings do not read"
    assert {"DATABASE_URL", "NATS_URL", "PORT"} <= set(SERVICES[name]["environment"])


@pytest.mark.parametrize("name", BUILT)
def test_the_ports_agree(name):
    """The port compose gives the service is the one the image exposes and declares, the
    settings' default, and the one the health check asks."""
    image = replay(name)
    port = SERVICES[name]["environment"]["PORT"]
    assert image.exposed == [port]
    assert image.env.get("PORT") == port
    assert str(settings_class(name).model_fields["port"].default) == port
    assert f":{port}/" in " ".join(SERVICES[name]["healthcheck"]["test"])


@pytest.mark.parametrize("name", BUILT)
def test_operator_variables_pass_through_from_the_host(name):
    """Everything but the compose-internal addresses comes from the operator's environment."""
    internal = (
        "DATABASE_URL",
        "NATS_URL",
        "UNIMATCH_HOST",
        "PORT",
        "TRUSTED_PROXIES",
        "UNIMATCH_VAR_DIR",
    )
    for key, value in SERVICES[name]["environment"].items():
        if key not in internal and not key.endswith("_WORKERS"):
            assert value.startswith(f"${{{key}:-"), f"{name}: {key} = {value}"


@pytest.mark.parametrize("name", BUILT)
def test_services_listen_beyond_loopback_only_where_compose_says_so(name):
    """Services default to loopback (a stray HOST does not widen it); in a container they must
    listen on the container's network for the gateway, and compose says so by name."""
    assert SERVICES[name]["environment"]["UNIMATCH_HOST"] == "0.0.0.0"
    assert "HOST" not in SERVICES[name]["environment"]


def test_auth_trusts_x_real_ip_from_compose_private_network():
    proxies = SERVICES["auth"]["environment"]["TRUSTED_PROXIES"].split(",")
    assert "172.16.0.0/12" in proxies  # docker's default bridge networks


def test_secrets_reach_only_the_service_that_uses_them():
    holders = {
        key: sorted(name for name in BUILT if key in SERVICES[name]["environment"])
        for key in ("TELEGRAM_BOT_TOKEN", "UNIMATCH_ADMIN_PASSWORD", "DATABASE_URL")
    }
    assert holders == {
        "TELEGRAM_BOT_TOKEN": ["notifier"],
        "UNIMATCH_ADMIN_PASSWORD": ["auth"],
        "DATABASE_URL": BUILT,
    }


@pytest.mark.parametrize("name", BUILT)
def test_service_urls_point_at_compose_servers(name):
    """Each service logs in as itself (docs/adr/018-service-credentials.md), with the password
    its server was given (tests/test_compose_credentials.py checks the rest)."""
    env = SERVICES[name]["environment"]
    database = urlsplit(env["DATABASE_URL"])
    postgres = SERVICES["postgres"]["environment"]
    assert database.hostname in SERVICES
    assert (database.username, database.password, database.path) == (
        f"unimatch_{name}",
        postgres[f"{name.upper()}_DATABASE_PASSWORD"],
        f"/{postgres['POSTGRES_DB']}",
    )
    nats = urlsplit(env["NATS_URL"])
    assert nats.hostname == "nats"
    assert (nats.username, nats.password) == (
        name,
        SERVICES["nats"]["environment"][f"{name.upper()}_NATS_PASSWORD"],
    )


def test_only_the_gateway_publishes_ports():
    """And the mail catcher its web UI, on loopback only (no other host reaches it)."""
    assert [name for name, service in SERVICES.items() if "ports" in service] == [
        "mailcatcher",
        "gateway",
    ]
    assert [port.split(":")[0] for port in SERVICES["mailcatcher"]["ports"]] == ["127.0.0.1"]
    listen_port = GATEWAY["environment"]["UNIMATCH_PORT"]
    assert GATEWAY["ports"] == [f"${{UNIMATCH_PORT:-8000}}:{listen_port}"]


def test_mail_reaches_the_catcher_over_an_internal_network_only_the_notifier_shares():
    networks = COMPOSE["networks"]
    catcher_networks = SERVICES["mailcatcher"]["networks"]
    smtp = urlsplit(SERVICES["notifier"]["environment"]["SMTP_URL"].split(":-", 1)[1].rstrip("}"))
    assert smtp.hostname == "mailcatcher"
    shared = [n for n in catcher_networks if n in SERVICES["notifier"].get("networks", [])]
    assert shared == ["mail"] and networks["mail"]["internal"] is True
    for name, service in SERVICES.items():
        if name not in ("notifier", "mailcatcher"):
            assert not set(service.get("networks", ["default"])) & set(catcher_networks), name


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
    assert mounts["./gateway/pages"] == GATEWAY["environment"]["PAGES_ROOT"]


def test_the_gateway_image_serves_the_pinned_swagger_ui():
    """gateway/Dockerfile installs swagger-ui-py at the version constraints.txt pins (the one
    `make run` serves) and copies its files to where compose tells Caddy to find them."""
    build = GATEWAY["build"]
    steps = instructions(ROOT / build["context"] / build["dockerfile"])
    copies = [arguments(rest) for keyword, rest in steps if keyword == "COPY"]
    runs = [shlex.split(c) for keyword, rest in steps if keyword == "RUN" for c in rest.split("&&")]
    assert ["constraints.txt", "./"] in copies
    [install] = [command for command in runs if command[:2] == ["pip", "install"]]
    assert install[install.index("-c") + 1] == "constraints.txt"
    assert install[-1] == "swagger-ui-py"
    target = install[install.index("--target") + 1]
    assert CONSTRAINTS["swagger-ui-py"] == importlib.metadata.version("swagger-ui-py")
    [(source, destination)] = [
        (args[-2], args[-1]) for args in copies if args[0].startswith("--from=")
    ]
    assert source == f"{target}/swagger_ui/static"
    assert destination == GATEWAY["environment"]["SWAGGER_UI_ROOT"]
    assert "{$SWAGGER_UI_ROOT" in (ROOT / "gateway" / "Caddyfile").read_text()


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


@pytest.mark.parametrize("name", BUILT)
def test_instances_come_from_configuration_and_the_gateway_finds_every_replica(name):
    """`<SERVICE>_INSTANCES` (else `UNIMATCH_INSTANCES`, else one) replicas, as under `make
    run`; the gateway asks Docker's DNS for every replica's address (an A record each) on the
    service's port (docs/adr/024-several-instances.md)."""
    assert SERVICES[name]["deploy"]["replicas"] == (
        f"${{{name.upper()}_INSTANCES:-${{UNIMATCH_INSTANCES:-1}}}}"
    )
    port = SERVICES[name]["environment"]["PORT"]
    assert GATEWAY["environment"][f"{name.upper()}_DISCOVERY"] == f"dynamic a {name} {port}"
    caddyfile = (ROOT / "gateway" / "Caddyfile").read_text()
    assert f"{{${name.upper()}_DISCOVERY}}" in caddyfile
    assert "container_name" not in SERVICES[name]  # a fixed name allows one replica only
