"""Traffic through a NATS fault, and what must hold once it is over (test_nats_restart.py:
the one server killed and restarted; test_nats_cluster.py: a cluster node killed for good).

Sign-ups stream in on their own thread and a staff round's ``pair.created`` events are being
consumed when the fault strikes. Sign-ups may answer 503 while NATS cannot serve them (the
profile step cannot be reached); every sign-up that answered 201 must end up everywhere:
auth's account, profile's confirmed profile, matching's participant and the notifier's member
read model. Every group of the round must reach profile's history and every linked member's
Telegram chat exactly once.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from tests.e2e.helpers import auth
from tests.faults.conftest import tally
from tests.support.helpers import eventually
from tests.support.telegram_stub import login_widget_data

LINKED = 40  # users signed up and linked to Telegram before the round
AFTER_RECOVERY = 5  # sign-ups that must succeed after the fault before the stream stops
# Deliveries NATS handed out but whose acks died with it come back after the ack wait
# (ACK_WAIT_SECONDS in tests, 30 s by default).
CONVERGE_SECONDS = 120
FIRST_CHAT = 8_000_000
SETUP_ATTEMPTS = 5  # for each request setting the scene, answered 503 while the machine is busy


class SignUps:
    """Sign-ups in a loop on their own thread, recording every answer."""

    def __init__(self, system):
        self.system = system
        self.api = system.client()
        self.answers: list[tuple[float, int, int | None]] = []  # (when, status, user id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = self.system.register(self.api, hobby=[1, 2])
            except Exception as exc:  # a timeout is a failure the test reports, not a crash
                self.answers.append((time.monotonic(), 0, None))
                self.error = exc
                continue
            user_id = response.json()["user"]["id"] if response.status_code == 201 else None
            self.answers.append((time.monotonic(), response.status_code, user_id))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def created(self, since: float = 0.0) -> list[int]:
        return [uid for when, status, uid in self.answers if status == 201 and when >= since]


def everywhere(system, user_ids: list[int]) -> dict[str, set[int]]:
    """Which of these users each service's own schema knows."""
    queries = {
        "auth": ("auth", "SELECT id FROM user_account WHERE id = ANY(%s)"),
        "profile": ("profile", "SELECT user_id FROM profile WHERE confirmed AND user_id = ANY(%s)"),
        "matching": ("matching", "SELECT user_id FROM participant WHERE user_id = ANY(%s)"),
        "notifier": ("notifier", "SELECT user_id FROM member WHERE user_id = ANY(%s)"),
    }
    return {
        name: {row[0] for row in system.sql(schema, query, user_ids)}
        for name, (schema, query) in queries.items()
    }


def where_sign_ups_stopped(system, missing: dict[str, set[int]]) -> str:
    """For a failure message: which services miss which users and how far their events got
    (auth's and profile's outboxes)."""
    user_ids = sorted(set().union(*missing.values()))
    as_text = "payload::jsonb ->> 'user_id' IN (SELECT unnest(%s::bigint[])::text)"
    steps = {
        "auth user.registered published": system.sql(
            "auth",
            "SELECT count(*) FILTER (WHERE published_at IS NOT NULL), count(*) FROM outbox_message"
            f" WHERE subject = 'user.registered' AND {as_text}",
            user_ids,
        )[0],
        "profile profile.changed published": system.sql(
            "profile",
            "SELECT count(*) FILTER (WHERE published_at IS NOT NULL), count(*) FROM outbox_message"
            f" WHERE subject = 'profile.changed' AND {as_text}",
            user_ids,
        )[0],
    }
    lines = [f"missing: { {name: sorted(ids) for name, ids in missing.items()} }"]
    lines += [f"{step}: {done}/{total}" for step, (done, total) in steps.items()]
    return "\n".join(lines)


def wait_for_first_applied(system, timeout: float = 15.0) -> None:
    """Return as soon as profile applied one of the round's events (polling tightly; this
    system holds no other round); fail if it never does, so the fault cannot quietly land
    before the round's events are being consumed."""
    with psycopg.connect(system.database_urls["profile"], autocommit=True) as connection:
        eventually(
            lambda: connection.execute("SELECT EXISTS (SELECT 1 FROM profile.match)").fetchone()[0],
            "profile applies the round's first pair.created (before NATS breaks)",
            timeout=timeout,
            interval=0.005,
        )


def at_the_fault(system) -> str:
    """How far the round's events had got when NATS broke: relayed, applied by each consumer."""
    ids = [
        row[0]
        for row in system.sql(
            "matching", "SELECT event_id FROM outbox_message WHERE subject = 'pair.created'"
        )
    ]
    relayed = system.sql(
        "matching",
        "SELECT count(*) FROM outbox_message WHERE subject = 'pair.created' "
        "AND published_at IS NOT NULL",
    )[0][0]
    return (
        f"relayed {relayed}/{len(ids)}, profile applied {system.processed('profile', ids)}, "
        f"notifier applied {system.processed('notifier', ids)}"
    )


def retried_while_busy(send: Callable[[], httpx.Response]) -> httpx.Response:
    """``send()`` again after a 503, as its Retry-After asks, a few times: before the fault a
    busy machine may shed a sign-up's password hashing, which is not what these tests test."""
    for _ in range(SETUP_ATTEMPTS - 1):
        response = send()
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers.get("retry-after", 1)))
    return send()


def sign_up_and_link(system, index: int) -> tuple[int, int]:
    api = system.client()
    response = retried_while_busy(
        lambda: system.register(api, first_name=f"Связанный{index}", hobby=[1 + index % 5])
    )
    assert response.status_code == 201, response.text
    user = response.json()
    chat = FIRST_CHAT + index
    linked = retried_while_busy(
        lambda: api.post(
            "/users/api/tg-auth/", headers=auth(user["token"]), json=login_widget_data(chat)
        )
    )
    assert linked.status_code == 201, linked.text
    return user["user"]["id"], chat


def traffic_through_a_fault(
    system, report, scenario: str, fault: Callable[[], None], recover: Callable[[], None]
) -> None:
    """Sign-ups and a round with ``fault()`` striking mid-way and ``recover()`` right after
    (which may wait, or do nothing); reports ``<scenario>/...`` lines and asserts that
    nothing was lost or done twice."""
    with ThreadPoolExecutor(4) as pool:
        linked = dict(pool.map(lambda i: sign_up_and_link(system, i), range(LINKED)))
    eventually(
        lambda: set(linked) <= everywhere(system, list(linked))["matching"],
        "matching knows every linked user",
        timeout=60,
    )
    api = system.client()
    staff = system.staff(api)

    sign_ups = SignUps(system)
    sign_ups.start()
    try:
        eventually(
            lambda: len(sign_ups.created()) >= 3,
            "sign-ups flow before the fault",
            timeout=60,
        )
        round_ = api.post("/matching/api/rounds/", headers=staff)
        assert round_.status_code == 201, round_.text
        round_id = round_.json()["round_id"]

        # Break NATS once the round's events are being consumed (the relay publishes them in
        # one batch), so acks and deliveries are in flight.
        wait_for_first_applied(system)
        fault()
        in_flight = at_the_fault(system)
        recover()
        recovered = time.monotonic()
        eventually(
            lambda: len(sign_ups.created(since=recovered)) >= AFTER_RECOVERY,
            "sign-ups succeed again after the fault",
            timeout=90,
        )
    finally:
        sign_ups.stop()

    statuses = {status for _, status, _ in sign_ups.answers}
    assert statuses <= {201, 503}, f"sign-up answers other than 201/503: {statuses}"
    registered = sign_ups.created()

    # Every 201 is known everywhere.
    def missing() -> dict[str, set[int]]:
        known = everywhere(system, registered)
        return {name: set(registered) - ids for name, ids in known.items() if set(registered) - ids}

    try:
        eventually(
            lambda: not missing(),
            "every 201 sign-up reaches every service",
            timeout=CONVERGE_SECONDS,
        )
    except AssertionError as never:
        raise AssertionError(f"{never}\n{where_sign_ups_stopped(system, missing())}") from None
    finally:
        lost = set().union(*missing().values())
        refused = sum(1 for _, status, _ in sign_ups.answers if status == 503)
        report(
            f"{scenario}/sign-ups answered 201, in all four services ({refused} got 503)",
            sent=len(registered),
            delivered=len(registered) - len(lost),
            duplicated=0,
            lost=len(lost),
        )

    # Each sign-up announced to matching once: a user.registered whose ack died with NATS is
    # redelivered, and only profile's inbox keeps it from emitting profile.changed again.
    announced = system.announced_participants(registered)
    report(
        f"{scenario}/user.registered -> profile.changed (the inbox's)",
        **tally(set(registered), announced),
    )
    assert all(n == 1 for n in announced.values())

    # Every group of the round reaches profile's history and the linked chats exactly once.
    members = system.sql(
        "matching", "SELECT group_id, user_id FROM group_member WHERE round_id = %s", round_id
    )
    groups: dict[int, list[int]] = {}
    for group_id, user_id in members:
        groups.setdefault(group_id, []).append(user_id)
    expected_rows = {(u, p) for people in groups.values() for u in people for p in people if u != p}
    expected_chats = {linked[u] for people in groups.values() for u in people if u in linked}
    assert set(linked.values()) == expected_chats, "every linked user was in the round"

    def history() -> dict[tuple[int, int], int]:
        return system.round_history(round_id)

    def announced() -> dict[int, int]:
        return {c: n for c, n in system.announcements().items() if c in expected_chats}

    try:
        eventually(
            lambda: set(history()) >= expected_rows,
            "every group of the round reaches profile's history",
            timeout=CONVERGE_SECONDS,
        )
        eventually(
            lambda: set(announced()) >= expected_chats,
            "every linked member of the round hears about it",
            timeout=CONVERGE_SECONDS,
        )
        time.sleep(2)  # a duplicate announcement would arrive within this
    finally:
        rows, chats = history(), announced()
        report(
            f"{scenario}/pair.created -> profile history rows, one per key by the table's "
            f"constraint ({len(groups)} groups; "
            f"at the fault: {in_flight})",
            **tally(expected_rows, rows),
        )
        report(f"{scenario}/pair.created -> telegram messages", **tally(expected_chats, chats))
    assert set(rows) == expected_rows
    assert all(n == 1 for n in rows.values())
    assert all(n == 1 for n in chats.values())
