"""The login throttling policy (auth_service.domain.throttle, docs/adr/009)."""

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from auth_service.domain.throttle import (
    Client,
    Failure,
    client_address,
    client_of,
    request_retry_after,
    retry_after,
)

NOW = datetime(2025, 4, 28, 12, 0, tzinfo=UTC)
EMAIL, CLIENT = "anna@example.com", "203.0.113.7"


def failures(count: int, email=EMAIL, client=CLIENT, every=timedelta(seconds=1), last=NOW):
    """``count`` failures ``every`` apart, the newest at ``last``."""
    return [Failure(email, client, last - every * i) for i in range(count)]


def test_a_few_failures_are_free():
    assert retry_after(failures(4), EMAIL, CLIENT, NOW) == 0
    assert retry_after([], EMAIL, CLIENT, NOW) == 0


def test_pair_waits_until_the_fifth_newest_failure_leaves_the_window():
    recent = failures(5, every=timedelta(minutes=1), last=NOW - timedelta(minutes=1))
    # The oldest of the five was 5 minutes ago; the window is 15 minutes.
    assert retry_after(recent, EMAIL, CLIENT, NOW) == 10 * 60
    assert retry_after(recent, EMAIL, CLIENT, NOW + timedelta(minutes=10)) == 0


def test_pair_limit_leaves_other_addresses_and_emails_alone():
    recent = failures(5)
    assert retry_after(recent, EMAIL, "198.51.100.1", NOW) == 0
    assert retry_after(recent, "boris@example.com", CLIENT, NOW) == 0


def test_one_address_across_many_emails_hits_the_client_limit():
    sprayed = [
        Failure(f"user{i}@example.com", CLIENT, NOW - timedelta(seconds=i)) for i in range(50)
    ]
    assert retry_after(sprayed[:49], "new@example.com", CLIENT, NOW) == 0
    wait = retry_after(sprayed, "new@example.com", CLIENT, NOW)
    assert wait == 15 * 60 - 49
    assert retry_after(sprayed, "new@example.com", "198.51.100.1", NOW) == 0


def test_many_addresses_on_one_email_get_a_short_capped_backoff():
    def spread(count):
        return [
            Failure(EMAIL, f"10.0.0.{i}", NOW - timedelta(seconds=count - i)) for i in range(count)
        ]

    fresh = "198.51.100.1"
    assert retry_after(spread(9), EMAIL, fresh, NOW) == 0
    # 10 failures: 1 s after the newest (which was 1 s ago), 11: 2 s, 12: 4 s ...
    assert retry_after(spread(10), EMAIL, fresh, NOW) == 0
    assert retry_after(spread(11), EMAIL, fresh, NOW) == 1
    assert retry_after(spread(12), EMAIL, fresh, NOW) == 3
    # ... but never more than a minute after the latest failure, however many there were.
    assert retry_after(spread(200), EMAIL, fresh, NOW) == 59
    assert retry_after(spread(200), EMAIL, fresh, NOW + timedelta(minutes=1)) == 0


def test_old_failures_are_forgotten():
    old = failures(100, last=NOW - timedelta(minutes=15))
    assert retry_after(old, EMAIL, CLIENT, NOW) == 0


def test_the_longest_wait_wins_and_is_rounded_up():
    recent = failures(5, last=NOW - timedelta(milliseconds=300))
    assert retry_after(recent, EMAIL, CLIENT, NOW) == 15 * 60 - 4


@pytest.mark.parametrize(
    ("address", "host", "network"),
    [
        ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7", "203.0.113.7"),  # IPv4 seen through IPv6
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"),
        ("", "", ""),
    ],
)
def test_an_ipv6_client_is_its_64_and_its_network_its_48(address, host, network):
    assert client_of(address) == Client(host, network)


def ipv6_failures(count, email=EMAIL, prefix="2001:db8:1:2"):
    """``count`` failures, each from another address of the same /64 (as the table holds them)."""
    stored = [client_of(f"{prefix}::{i + 1:x}") for i in range(count)]
    return [
        Failure(email, c.host, NOW - timedelta(seconds=i), c.network) for i, c in enumerate(stored)
    ]


def test_one_ipv6_host_cannot_escape_the_pair_limit_by_changing_address():
    assert retry_after(ipv6_failures(4), EMAIL, "2001:db8:1:2::ffff", NOW) == 0
    assert retry_after(ipv6_failures(5), EMAIL, "2001:db8:1:2:aaaa::1", NOW) > 0
    assert retry_after(ipv6_failures(5), EMAIL, "2001:db8:1:3::1", NOW) == 0  # the next /64


def test_one_ipv6_site_spraying_from_many_64s_hits_the_network_cap():
    sprayed = [
        Failure(f"user{i}@example.com", c.host, NOW - timedelta(seconds=i), c.network)
        for i, c in enumerate(client_of(f"2001:db8:1:{i:x}::1") for i in range(50))
    ]
    assert retry_after(sprayed[:49], "new@example.com", "2001:db8:1:ffff::1", NOW) == 0
    assert retry_after(sprayed, "new@example.com", "2001:db8:1:ffff::1", NOW) > 0
    assert retry_after(sprayed, "new@example.com", "2001:db8:2::1", NOW) == 0  # another site


TRUSTED = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the gateway says who called
        ("10.1.2.3", " 2001:db8::1 ", "2001:db8::1"),
        ("127.0.0.1", None, "127.0.0.1"),  # no header: the peer
        ("127.0.0.1", "not an address", "127.0.0.1"),
        ("203.0.113.9", "127.0.0.1", "203.0.113.9"),  # untrusted peer: its header is ignored
        ("", "203.0.113.7", ""),  # no peer known
    ],
)
def test_client_address(peer, header, expected):
    assert client_address(peer, header, TRUSTED) == expected


DEVICE = "a" * 64


def test_a_trusted_device_is_not_held_back_by_others_failures():
    others = [
        Failure(EMAIL, f"10.0.0.{i}", NOW - timedelta(seconds=i)) for i in range(200)
    ] + failures(5)  # the email backed off, and this very address locked out of it
    assert retry_after(others, EMAIL, CLIENT, NOW) > 0
    assert retry_after(others, EMAIL, CLIENT, NOW, device=DEVICE) == 0


def test_a_trusted_device_waits_after_its_own_five_failures():
    own = [
        Failure(EMAIL, f"10.0.0.{i}", NOW - timedelta(minutes=i), device=DEVICE) for i in range(5)
    ]
    assert retry_after(own[:4], EMAIL, CLIENT, NOW, device=DEVICE) == 0
    assert retry_after(own, EMAIL, CLIENT, NOW, device=DEVICE) == 11 * 60


def test_a_trusted_device_still_counts_toward_its_address_cap():
    sprayed = [
        Failure(f"user{i}@example.com", CLIENT, NOW - timedelta(seconds=i)) for i in range(50)
    ]
    assert retry_after(sprayed, EMAIL, CLIENT, NOW, device=DEVICE) > 0


def requests(count: int, email=EMAIL, client=CLIENT, every=timedelta(minutes=1), last=NOW):
    """``count`` reset requests ``every`` apart, the newest at ``last``."""
    where = client_of(client)
    return [Failure(email, where.host, last - every * i, where.network) for i in range(count)]


def test_three_reset_mails_per_address_in_fifteen_minutes():
    where = client_of(CLIENT)
    assert request_retry_after(requests(2), EMAIL, where, NOW) == 0
    # The third request was 2 minutes before the newest: it leaves the window in 13 minutes.
    assert request_retry_after(requests(3), EMAIL, where, NOW) == 13 * 60
    # From anywhere else too: the limit protects the mailbox, not the server.
    assert request_retry_after(requests(3), EMAIL, client_of("198.51.100.9"), NOW) == 13 * 60
    assert request_retry_after(requests(3, email="other@example.com"), EMAIL, where, NOW) == 0


def test_twenty_reset_requests_per_network_in_fifteen_minutes_whatever_the_emails():
    where = client_of("2001:db8:1:2::5")
    spread = [
        Failure(f"user{i}@example.com", where.host, NOW - timedelta(seconds=i), where.network)
        for i in range(20)
    ]
    assert request_retry_after(spread[:19], "new@example.com", where, NOW) == 0
    assert request_retry_after(spread, "new@example.com", where, NOW) == 15 * 60 - 19
    # Another host of the same /48 site shares the cap.
    neighbour = client_of("2001:db8:1:9::1")
    assert request_retry_after(spread, "new@example.com", neighbour, NOW) == 15 * 60 - 19
    assert request_retry_after(spread, "new@example.com", client_of("2001:db8:2::1"), NOW) == 0
