"""PostgreSQL down for four minutes — longer than the three minutes after which every failing
event used to be dead-lettered — while every service runs and events keep arriving.

All four services share the one server here, and it is stopped for ``OUTAGE_SECONDS``
(``UNIMATCH_FAULTS_OUTAGE_SECONDS``, default 240). Throughout the outage, sign-ups'
``user.registered`` and rounds' ``pair.created`` are published to JetStream, as the relays
would (for synthetic users whose Telegram chats are seeded first); profile and the notifier
receive them and cannot apply them. Infrastructure failures are retried without limit
(docs/adr/007), so once the server is back every event is applied exactly once and none is
dead-lettered: each user's profile is confirmed and announced once (and reaches matching and
the notifier), each group reaches profile's history and each linked chat hears once.

The proof does not depend on the length: the test reads from profile's log that events were
delivered, and failed, at least ``UNIMATCH_EVENT_MAX_DELIVERIES`` times during the outage —
where the old policy dead-lettered them. A shorter outage (for a quick run:
``UNIMATCH_FAULTS_OUTAGE_SECONDS=30``) gets consumers with a shorter dead-letter horizon, so it
still outlasts it: four deliveries and delays capped at a tenth of the outage.
"""

import json
import os
import time

import pytest

from tests.faults.conftest import fault_system, tally
from tests.faults.test_consumers import chat_of, expected_rows, history_rows, pairs, sign_ups
from tests.support.helpers import eventually
from unimatch_shared.consumers import (
    MAX_DELIVERIES,
    MAX_RETRY_DELAY_SECONDS,
    dead_letter_horizon,
)
from unimatch_shared.events import PairCreated, UserRegistered

OUTAGE_SECONDS = float(os.environ.get("UNIMATCH_FAULTS_OUTAGE_SECONDS", "240"))
# The services' defaults when the outage outlasts their dead-letter horizon (240 s > 183.5 s);
# else a horizon scaled down to fit well inside the outage.
DEFAULT_HORIZON = dead_letter_horizon(MAX_DELIVERIES, MAX_RETRY_DELAY_SECONDS)
if OUTAGE_SECONDS >= 1.2 * DEFAULT_HORIZON:
    MAX_DELIVERIES_HERE, RETRY_CAP = MAX_DELIVERIES, MAX_RETRY_DELAY_SECONDS
else:
    MAX_DELIVERIES_HERE, RETRY_CAP = 4, max(1.0, OUTAGE_SECONDS / 10)
CONSUMER_ENV = {
    "UNIMATCH_EVENT_MAX_DELIVERIES": str(MAX_DELIVERIES_HERE),
    "UNIMATCH_EVENT_RETRY_MAX_DELAY_SECONDS": str(RETRY_CAP),
}
BATCHES = 8  # published at even intervals from the start of the outage to its last tenth
PAIRS_PER_BATCH = 3
# After the server is back: each event's next retry (at most RETRY_CAP away), then the chain
# sign-up -> profile.changed -> matching / notifier, and the announcements.
CONVERGE_SECONDS = 2 * RETRY_CAP + 120


@pytest.fixture(scope="module")
def system(var_dir):
    with fault_system(var_dir, env=CONSUMER_ENV) as running:
        yield running


def failed_deliveries(system, service: str) -> dict[str, int]:
    """The highest delivery number at which each event failed for want of infrastructure,
    per event id, from ``service``'s log (its workers write JSON lines)."""
    highest: dict[str, int] = {}
    with open(system.stack.processes[service].log_path, encoding="utf-8") as log:
        for line in log:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            message = record.get("message", "")
            if "could not be handled for now" in message and "event_id" in record:
                delivery = int(message.split("delivery ")[1].split(")")[0])
                event_id = record["event_id"]
                highest[event_id] = max(highest.get(event_id, 0), delivery)
    return highest


@pytest.mark.timeout(OUTAGE_SECONDS + 600)
def test_postgres_down_longer_than_the_old_dead_letter_horizon(system, report):
    batches = [pairs(system, PAIRS_PER_BATCH) for _ in range(BATCHES)]  # chats seeded now
    # Each batch: its members' sign-ups, then their groups (as the relays would publish them).
    batches = [[*sign_ups(batch), *batch] for batch in batches]
    registered = [e for batch in batches for e in batch if isinstance(e, UserRegistered)]
    events = [e for batch in batches for e in batch if isinstance(e, PairCreated)]
    users = [e.user_id for e in registered]
    chats = {chat_of(m.id) for e in events for m in e.members}

    database = system.postgres["main"]
    port = database.port
    database.stop()
    started = time.monotonic()
    try:
        for i, batch in enumerate(batches):
            due = started + i * (0.9 * OUTAGE_SECONDS) / (BATCHES - 1)
            time.sleep(max(0.0, due - time.monotonic()))
            system.publish(batch)
        time.sleep(max(0.0, started + OUTAGE_SECONDS - time.monotonic()))
        down_for = time.monotonic() - started
        running = {name: process.running for name, process in system.stack.processes.items()}
        assert all(running.values()), f"a process died with the database: {running}"
    finally:
        database.start()
    assert database.port == port
    failed = failed_deliveries(system, "profile")

    def applied(service: str, ids) -> int:
        return system.processed(service, ids)

    try:
        eventually(
            lambda: applied("profile", [e.event_id for e in registered]) == len(registered),
            "profile applies every sign-up after the outage",
            timeout=CONVERGE_SECONDS,
        )
        eventually(
            lambda: (
                applied("profile", [e.event_id for e in events]) == len(events)
                and applied("notifier", [e.event_id for e in events]) == len(events)
            ),
            "profile and the notifier apply every pair.created after the outage",
            timeout=CONVERGE_SECONDS,
        )
        eventually(
            lambda: (
                len(
                    system.sql(
                        "matching", "SELECT 1 FROM participant WHERE user_id = ANY(%s)", users
                    )
                )
                == len(users)
            ),
            "every user reaches matching (profile.changed, after the outage)",
            timeout=CONVERGE_SECONDS,
        )
        system.await_announcements(chats, CONVERGE_SECONDS)
    finally:
        past_horizon = sum(1 for n in failed.values() if n >= MAX_DELIVERIES_HERE)
        scenario = (
            f"postgres-outage-{down_for:.0f}s (every service's database; "
            f"{past_horizon} events failed {MAX_DELIVERIES_HERE}+ deliveries, "
            f"up to {max(failed.values(), default=0)}, "
            f"retries capped at {RETRY_CAP:g}s)"
        )
        confirmed = {
            row[0]
            for row in system.sql(
                "profile",
                "SELECT user_id FROM profile WHERE confirmed AND user_id = ANY(%s)",
                users,
            )
        }
        announced = tally(set(users), system.announced_participants(users))
        history = tally(expected_rows(events), history_rows(system, events))
        messages = tally(chats, system.announcements())
        report(f"{scenario}/user.registered -> profile.changed (the inbox's)", **announced)
        report(f"{scenario}/pair.created -> profile history rows", **history)
        report(f"{scenario}/pair.created -> notifier telegram messages", **messages)

    assert down_for >= OUTAGE_SECONDS
    # What the old policy would have parked: events failing as often as it allowed.
    assert past_horizon > 0, f"no event outlived the dead-letter horizon: {failed}"
    assert confirmed == set(users)
    assert announced["duplicated"] == announced["lost"] == 0
    assert history["duplicated"] == history["lost"] == 0
    assert messages["duplicated"] == messages["lost"] == 0
    for subject in ("user.registered", "pair.created", "profile.changed"):
        assert system.dead_letters(subject) == [], f"an outage parked {subject} events"
