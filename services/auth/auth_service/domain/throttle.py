"""Login throttling policy (docs/adr/009-login-throttling.md). Pure: no I/O, no clock.

Only failed logins count. Three scopes share one record of failures:
- the pair (email, client address): strict, the usual case of one guesser;
- the client address across emails: looser, one address spraying many accounts;
- the email across addresses: a short back-off capped at a minute, so a distributed guesser
  is slowed down but the real user is never locked out for long.
"""

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Failure:
    email: str
    client: str
    at: datetime


@dataclass(frozen=True)
class Window:
    """At most ``limit`` failures in any sliding ``period``."""

    limit: int
    period: timedelta

    def wait(self, failures: Sequence[datetime], now: datetime) -> float:
        """Seconds until the ``limit``-th newest failure leaves the window (0: try now)."""
        recent = sorted(at for at in failures if at > now - self.period)
        if len(recent) < self.limit:
            return 0.0
        return (recent[-self.limit] + self.period - now).total_seconds()


@dataclass(frozen=True)
class Backoff:
    """After ``free`` failures in ``period``, wait 1, 2, 4 ... seconds (at most ``cap``) after
    the latest one."""

    free: int
    period: timedelta
    cap: timedelta

    def wait(self, failures: Sequence[datetime], now: datetime) -> float:
        recent = sorted(at for at in failures if at > now - self.period)
        if len(recent) < self.free:
            return 0.0
        delay = min(2.0 ** (len(recent) - self.free), self.cap.total_seconds())
        return (recent[-1] + timedelta(seconds=delay) - now).total_seconds()


@dataclass(frozen=True)
class Policy:
    pair: Window = Window(5, timedelta(minutes=15))
    client: Window = Window(50, timedelta(minutes=15))
    email: Backoff = Backoff(10, timedelta(minutes=15), cap=timedelta(minutes=1))

    @property
    def horizon(self) -> timedelta:
        """How long a failure can matter; older ones may be forgotten."""
        return max(self.pair.period, self.client.period, self.email.period)


POLICY = Policy()


def retry_after(
    failures: Iterable[Failure], email: str, client: str, now: datetime, policy: Policy = POLICY
) -> int:
    """Whole seconds before ``client`` may try ``email`` again; 0 means now."""
    failures = list(failures)
    waits = (
        policy.pair.wait([f.at for f in failures if (f.email, f.client) == (email, client)], now),
        policy.client.wait([f.at for f in failures if f.client == client], now),
        policy.email.wait([f.at for f in failures if f.email == email], now),
    )
    return max(0, math.ceil(max(waits)))


def client_address(peer: str, real_ip: str | None, trusted: Iterable[Network]) -> str:
    """The caller's address: the gateway's ``X-Real-IP`` if the peer is a trusted proxy and the
    header holds an address, else the peer itself."""
    try:
        from_proxy = any(ipaddress.ip_address(peer) in network for network in trusted)
        if from_proxy and real_ip:
            return str(ipaddress.ip_address(real_ip.strip()))
    except ValueError:
        pass
    return peer
