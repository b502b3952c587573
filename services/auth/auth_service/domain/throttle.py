"""Login throttling policy (docs/adr/009-login-throttling.md). Pure: no I/O, no clock.

Only failed logins count. Three scopes share one record of failures:
- the pair (email, client): strict, the usual case of one guesser;
- the client's network across emails: looser, one host or site spraying many accounts;
- the email across clients: a short back-off capped at a minute, so a distributed guesser
  is slowed down.
A trusted device (one that logged in to that account before, and presents its cookie) is
limited by its own failures instead of the pair's and the email's: the real user is not
locked out by others, however long or from wherever they keep guessing.

A client is its IPv4 address, or its IPv6 /64 (one host or LAN gets a /64 and may use any of
its 2^64 addresses); the per-network cap counts an IPv6 /48 (a site) as one.
"""

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from, as the limits see it."""

    host: str  # the pair scope: an IPv4 address or an IPv6 /64
    network: str  # the per-network cap: an IPv4 address or an IPv6 /48


HOST_PREFIX_V6 = 64
NETWORK_PREFIX_V6 = 48


def client_of(address: str) -> Client:
    """The scopes of a client address (as ``client_address`` gives it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # no peer known: only its own key
        return Client(address, address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return Client(str(ip), str(ip))
    host = ipaddress.ip_network(f"{ip}/{HOST_PREFIX_V6}", strict=False)
    return Client(str(host), str(host.supernet(new_prefix=NETWORK_PREFIX_V6)))


@dataclass(frozen=True)
class Failure:
    """A failed login (or one in flight: it counts from the moment it is let through), or a
    request for a password-reset mail."""

    email: str
    client: str  # Client.host
    at: datetime
    network: str = ""  # Client.network; empty means the same as ``client``
    device: str | None = None  # the trusted device the attempt came with, if any


def _at_least(count: int, failures: Sequence[datetime], since: datetime) -> list[datetime]:
    """The failures after ``since``, oldest first, if there are at least ``count``; else
    none."""
    recent = sorted(at for at in failures if at > since)
    return recent if len(recent) >= count else []


@dataclass(frozen=True)
class Window:
    """At most ``limit`` failures in any sliding ``period``."""

    limit: int
    period: timedelta

    def wait(self, failures: Sequence[datetime], now: datetime) -> float:
        """Seconds until the ``limit``-th newest failure leaves the window (0: try now)."""
        recent = _at_least(self.limit, failures, now - self.period)
        return (recent[-self.limit] + self.period - now).total_seconds() if recent else 0.0


@dataclass(frozen=True)
class Backoff:
    """After ``free`` failures in ``period``, wait 1, 2, 4 ... seconds (at most ``cap``) after
    the latest one."""

    free: int
    period: timedelta
    cap: timedelta

    def wait(self, failures: Sequence[datetime], now: datetime) -> float:
        recent = _at_least(self.free, failures, now - self.period)
        if not recent:
            return 0.0
        delay = min(2.0 ** (len(recent) - self.free), self.cap.total_seconds())
        return (recent[-1] + timedelta(seconds=delay) - now).total_seconds()


@dataclass(frozen=True)
class Policy:
    pair: Window = Window(5, timedelta(minutes=15))
    client: Window = Window(50, timedelta(minutes=15))
    email: Backoff = Backoff(10, timedelta(minutes=15), cap=timedelta(minutes=1))
    # A trusted device's own failures, instead of the pair's and the email's.
    device: Window = Window(5, timedelta(minutes=15))

    @property
    def horizon(self) -> timedelta:
        """How long a failure can matter; older ones may be forgotten."""
        periods = (self.pair, self.client, self.email, self.device)
        return max(scope.period for scope in periods)


POLICY = Policy()


def retry_after(
    failures: Iterable[Failure],
    email: str,
    client: Client | str,
    now: datetime,
    policy: Policy = POLICY,
    device: str | None = None,
) -> int:
    """Whole seconds before ``client`` may try ``email`` again; 0 means now.

    ``device``: the trusted device the client presents, already checked to belong to the
    account of ``email``."""
    failures = list(failures)
    if isinstance(client, str):
        client = client_of(client)
    network = [f.at for f in failures if (f.network or f.client) == client.network]
    waits = [policy.client.wait(network, now)]
    if device is not None:
        waits.append(policy.device.wait([f.at for f in failures if f.device == device], now))
    else:
        pair = [f.at for f in failures if (f.email, f.client) == (email, client.host)]
        waits.append(policy.pair.wait(pair, now))
        waits.append(policy.email.wait([f.at for f in failures if f.email == email], now))
    return _whole_seconds(waits)


@dataclass(frozen=True)
class RequestPolicy:
    """Limits on a request that sends a mail (a password reset): every request counts,
    whether or not the email is an account's, so the limits tell nothing about accounts."""

    email: Window = Window(3, timedelta(minutes=15))  # mails to one address
    client: Window = Window(20, timedelta(minutes=15))  # requests from one network

    @property
    def horizon(self) -> timedelta:
        return max(self.email.period, self.client.period)


RESET_POLICY = RequestPolicy()


def request_retry_after(
    requests: Iterable[Failure],
    email: str,
    client: Client,
    now: datetime,
    policy: RequestPolicy = RESET_POLICY,
) -> int:
    """Whole seconds before ``client`` may ask for a mail to ``email`` again; 0 means now.
    ``requests`` are the earlier requests, recorded like failed logins."""
    requests = list(requests)
    by_email = [r.at for r in requests if r.email == email]
    by_network = [r.at for r in requests if (r.network or r.client) == client.network]
    return _whole_seconds([policy.email.wait(by_email, now), policy.client.wait(by_network, now)])


def _whole_seconds(waits: Iterable[float]) -> int:
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
