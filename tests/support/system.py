"""The whole system as processes, configured one way for every suite that starts it
(end-to-end, fuzzing, security, faults): the test admin, the stand-in Telegram, free ports."""

from collections.abc import Mapping
from pathlib import Path

from tests.e2e.helpers import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.helpers import ACK_WAIT_SECONDS
from tests.support.telegram_stub import TOKEN, USERNAME
from unimatch_stack.infra import free_ports
from unimatch_stack.supervisor import SERVICES, Stack


def system_stack(
    var_dir: Path,
    database_url: str,
    nats_url: str,
    event_prefix: str,
    telegram_url: str,
    env: Mapping[str, str] | None = None,
    service_env: Mapping[str, Mapping[str, str]] | None = None,
    instances: Mapping[str, int] | None = None,
) -> Stack:
    """The four services and the gateway on free ports, with a staff account and a bot that
    talks to the stand-in Bot API at ``telegram_url``; ``instances``: how many of a service
    (one unless named)."""
    counts = [(instances or {}).get(spec.name, 1) for spec in SERVICES]
    *service_ports, gateway_port = free_ports(sum(counts) + 1)
    ports = iter(service_ports)
    return Stack(
        var_dir,
        database_url,
        nats_url,
        gateway_port=gateway_port,
        service_ports={
            spec.name: [next(ports) for _ in range(count)]
            for spec, count in zip(SERVICES, counts, strict=True)
        },
        extra_env={
            "UNIMATCH_EVENT_PREFIX": event_prefix,
            "UNIMATCH_ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
            "UNIMATCH_ADMIN_EMAIL": ADMIN_EMAIL,
            "UNIMATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram_url,
            "TELEGRAM_BOT_USERNAME": USERNAME,
            "LOG_LEVEL": "INFO",
            # Several workers per service whatever the CPU count, as in production.
            "UNIMATCH_WORKERS": "2",
            # Reuse detection of web refresh tokens, without a test waiting ten seconds.
            "UNIMATCH_REFRESH_REUSE_GRACE_SECONDS": "2",
            **(env or {}),
        },
        service_env=service_env,
        ready_timeout=120,
    )
