"""`python -m unimatch_stack.run` (what `make run` calls): the whole stack in one terminal.

Uses DATABASE_URL / NATS_URL when set, else embedded PostgreSQL and NATS under
UNIMATCH_VAR_DIR (default ./var; data is kept between runs). Blocks until Ctrl-C or SIGTERM,
then stops the services, the gateway and the embedded servers, in that order.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from unimatch_stack.credentials import merge
from unimatch_stack.infra import InfraError, local_infra, nats_nodes
from unimatch_stack.mailbox import local_mailbox
from unimatch_stack.supervisor import (
    DEFAULT_GATEWAY_PORT,
    SERVICES,
    Stack,
    StackError,
    instance_ports,
)


def _instances(service: str) -> int:
    """How many instances of a service to run: AUTH_INSTANCES=3, else UNIMATCH_INSTANCES (every
    service), else one."""
    value = os.environ.get(f"{service.upper()}_INSTANCES") or os.environ.get(
        "UNIMATCH_INSTANCES", "1"
    )
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise StackError(
            f"{service}: the instance count must be a whole number >= 1, not {value!r}"
        )
    return count


def _service_ports() -> dict[str, list[int]]:
    """Each instance's port: the first from e.g. PROFILE_PORT=9102 (else the default), the
    others 100 apart (9202, 9302, ...)."""
    return {
        spec.name: instance_ports(
            int(os.environ.get(f"{spec.name.upper()}_PORT", spec.port)), _instances(spec.name)
        )
        for spec in SERVICES
    }


def _service_env() -> dict[str, dict[str, str]]:
    """Per-service worker counts, e.g. PROFILE_WORKERS=4 (else UNIMATCH_WORKERS, else one per
    CPU; the notifier always runs one)."""
    return {
        spec.name: {"UNIMATCH_WORKERS": os.environ[f"{spec.name.upper()}_WORKERS"]}
        for spec in SERVICES
        if os.environ.get(f"{spec.name.upper()}_WORKERS")
    }


def _cluster_env() -> dict[str, str]:
    """With an embedded cluster (UNIMATCH_NATS_NODES above 1) the streams are replicated on up
    to three of its nodes, unless UNIMATCH_STREAM_REPLICAS says otherwise."""
    if os.environ.get("NATS_URL") or os.environ.get("UNIMATCH_STREAM_REPLICAS"):
        return {}
    nodes = nats_nodes(os.environ)
    return {"UNIMATCH_STREAM_REPLICAS": str(min(3, nodes))} if nodes > 1 else {}


def _mail_env(smtp_url: str, gateway_port: int) -> dict[str, str]:
    """Where the notifier sends mail, and where the links in mails point (the gateway)."""
    public_url = os.environ.get("UNIMATCH_PUBLIC_URL") or f"http://localhost:{gateway_port}"
    return {"SMTP_URL": smtp_url, "UNIMATCH_PUBLIC_URL": public_url}


def _banner(stack: Stack, var_dir: Path, local_mail: bool) -> str:
    url = stack.gateway_url
    instances = [process for spec in SERVICES for process in stack.instances(spec.name)]
    width = max(9, *(len(process.name) for process in instances))
    return "\n".join(
        [
            "UniMatch is up.",
            f"  {'API docs:':<{width}}  {url}/docs",
            f"  {'Gateway:':<{width}}  {url}  (/auth/*, /users/*, /matching/*, /telegram/*)",
            *(f"  {p.name:<{width}}  {stack.service_url(p.name)}" for p in instances),
            f"  {'Logs:':<{width}}  {var_dir / 'log'}",
            f"  {'Mail:':<{width}}  {var_dir / 'mail' if local_mail else 'through SMTP_URL'}",
            "Press Ctrl-C to stop.",
        ]
    )


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _watch(stack: Stack) -> None:
    """Block until Ctrl-C / SIGTERM, reporting (once) any process that dies meanwhile."""
    reported: set[str] = set()
    try:
        while True:
            time.sleep(1)
            for process in stack.exited():
                if process.name not in reported:
                    reported.add(process.name)
                    print(
                        f"[{process.name}] exited with code {process.proc.returncode};"
                        f" see {process.log_path}",
                        file=sys.stderr,
                        flush=True,
                    )
    except KeyboardInterrupt:
        return


def main() -> int:
    var_dir = Path(os.environ.get("UNIMATCH_VAR_DIR", "var")).resolve()
    gateway_port = int(os.environ.get("UNIMATCH_PORT", DEFAULT_GATEWAY_PORT))
    # SIGTERM unwinds like Ctrl-C, so the with-blocks below stop everything in order. SIGINT is
    # set explicitly too: a parent may have started us with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_keyboard_interrupt)
    try:
        service_ports = _service_ports()
        with (
            local_infra(var_dir) as infra,
            local_mailbox(var_dir) as smtp_url,
            Stack(
                var_dir,
                infra.database_url,
                infra.nats_url,
                gateway_port,
                service_ports,
                extra_env={**_cluster_env(), **_mail_env(smtp_url, gateway_port)},
                service_env=merge(infra.service_env, _service_env()),
            ) as stack,
        ):
            print(_banner(stack, var_dir, not os.environ.get("SMTP_URL")), flush=True)
            _watch(stack)
            print("Stopping...", flush=True)
            # A second Ctrl-C must not cut the orderly shutdown short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except KeyboardInterrupt:  # during startup; the with-blocks have cleaned up
        return 130
    except (InfraError, StackError) as error:
        print(f"unimatch: {error}", file=sys.stderr, flush=True)
        return 1
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
