"""Consumers under fire: profile and the notifier SIGKILLed in the middle of a burst of
``pair.created``, and a poison event on the same stream.

The events are published straight to JetStream, as matching's relay would, for synthetic users
whose Telegram chats are seeded in the notifier's schema; so the burst is large (300 events,
600 announcements) without 600 sign-ups first.
"""

import threading
import time
from itertools import count

import pytest

from tests.faults.conftest import fault_system, synthetic_pairs, tally
from tests.support.helpers import eventually
from unimatch_shared.events import PairCreated, UserRegistered

BURST = 300
KILL_AT = BURST // 4  # events applied before the kill: well inside the burst
# The stand-in Telegram and the notifier both allow far more than Telegram's 30 msg/s here,
# so delivering 600 announcements takes seconds, not 20 s.
FAST_TELEGRAM = {"per_second": 2000}
FAST_NOTIFIER = {"TELEGRAM_MESSAGES_PER_SECOND": "2000", "TELEGRAM_SEND_CONCURRENCY": "16"}
# JetStream redelivers what a killed consumer had fetched but not acked after its ack wait
# (ACK_WAIT_SECONDS in tests, 30 s by default); everything else arrives sooner.
CONVERGE_SECONDS = 120

user_ids = count(50_000_000, 2)
group_ids = count(900_000)


@pytest.fixture(scope="module")
def system(var_dir):
    with fault_system(var_dir, telegram_options=FAST_TELEGRAM, env=FAST_NOTIFIER) as running:
        yield running


def sign_ups(events: list[PairCreated]) -> list[UserRegistered]:
    """The members' ``user.registered`` events, as auth would emit them."""
    return [
        UserRegistered(user_id=m.id, email=m.email, first_name=m.first_name, hobby=[1])
        for e in events
        for m in e.members
    ]


def pairs(system, n: int) -> list[PairCreated]:
    """``n`` pair.created events for new synthetic users, every one of them linked."""
    events = synthetic_pairs(n, user_ids, group_ids)
    system.link_chats({m.id: chat_of(m.id) for e in events for m in e.members})
    return events


def chat_of(user_id: int) -> int:
    return 7_000_000_000 + user_id


def history_rows(system, events: list[PairCreated]) -> dict[tuple[int, int, int], int]:
    """Profile's match rows for these groups: (group, user, partner) -> how many."""
    rows = system.sql(
        "profile",
        "SELECT group_id, user_id, partner_id, count(*) FROM match "
        "WHERE group_id = ANY(%s) GROUP BY 1, 2, 3",
        [e.group_id for e in events],
    )
    return {(g, u, p): n for g, u, p, n in rows}


def expected_rows(events: list[PairCreated]) -> set[tuple[int, int, int]]:
    return {
        (e.group_id, a.id, b.id) for e in events for a in e.members for b in e.members if a != b
    }


def test_consumers_killed_mid_batch_lose_and_repeat_nothing(system, report):
    events = pairs(system, BURST)
    ids = [e.event_id for e in events]
    chats = {chat_of(m.id) for e in events for m in e.members}
    # Each pair's sign-ups go first, in the same burst: applying one emits profile.changed,
    # which a redelivery after the kill would emit again were it not for profile's inbox.
    registered = sign_ups(events)
    burst = [event for i, e in enumerate(events) for event in (*registered[2 * i : 2 * i + 2], e)]
    # Telegram refuses (429) while the notifier is killed: what is under test is the consumer
    # and its message outbox. A crash *while Telegram accepts* may resend the few messages in
    # flight, which ADR 006 documents; that window is not what this scenario measures.
    system.set_telegram(force_429=10**9)

    publisher = threading.Thread(target=system.publish, args=(burst,))
    publisher.start()
    killed_at: dict[str, int] = {}
    try:
        # Each consumer is SIGKILLed as soon as it has applied KILL_AT events, polled tightly.
        deadline = time.monotonic() + 60
        while len(killed_at) < 2 and time.monotonic() < deadline:
            for service in {"profile", "notifier"} - set(killed_at):
                if system.processed(service, ids) >= KILL_AT:
                    system.stack.stop_service(service, kill=True)
                    killed_at[service] = system.processed(service, ids)
            time.sleep(0.01)
    finally:
        publisher.join(timeout=60)
    # The kill loses the acks of whatever profile had applied but not yet acknowledged; at
    # worst that is every sign-up it applied: all of those come back once more.
    applied_ids = {
        row[0]
        for row in system.sql(
            "profile",
            "SELECT event_id FROM processed_event WHERE event_id = ANY(%s)",
            [e.event_id for e in registered],
        )
    }
    applied = [e for e in registered if e.event_id in applied_ids]
    system.publish(applied, again=True)
    for service in killed_at:
        system.stack.start_service(service)
    assert set(killed_at) == {"profile", "notifier"}, f"consumers never got going: {killed_at}"
    assert all(n < BURST for n in killed_at.values()), f"not killed mid-batch: {killed_at}"

    eventually(
        lambda: system.processed("profile", ids) == BURST,
        "profile applies every event",
        timeout=CONVERGE_SECONDS,
    )
    eventually(
        lambda: system.processed("profile", [e.event_id for e in registered]) == len(registered),
        "profile applies every sign-up",
        timeout=CONVERGE_SECONDS,
    )
    eventually(
        lambda: system.processed("notifier", ids) == BURST,
        "the notifier applies every event",
        timeout=CONVERGE_SECONDS,
    )
    system.set_telegram(force_429=0)
    system.await_announcements(chats, CONVERGE_SECONDS)
    queued = system.sql(
        "notifier",
        "SELECT count(*), count(DISTINCT idempotency_key) FROM outgoing_message "
        "WHERE chat_id = ANY(%s)",
        list(chats),
    )[0]

    rows = history_rows(system, events)
    history = tally(expected_rows(events), rows)
    users = [e.user_id for e in registered]
    announced = tally(set(users), system.announced_participants(users))
    messages = tally(chats, system.announcements())
    report(
        f"consumer-kill/profile history rows, one per key by the table's constraint "
        f"(killed after {killed_at['profile']} of {BURST} pair.created)",
        **history,
    )
    report("consumer-kill/profile user.registered -> profile.changed (the inbox's)", **announced)
    report(
        f"consumer-kill/notifier telegram messages (killed after {killed_at['notifier']} of "
        f"{BURST} events)",
        **messages,
    )
    assert set(rows) == expected_rows(events)
    assert history["duplicated"] == history["lost"] == 0
    assert announced["duplicated"] == announced["lost"] == 0
    assert queued == (len(chats), len(chats)), "one queued message per (event, chat)"
    assert messages["duplicated"] == messages["lost"] == 0


def test_poison_event_is_dead_lettered_and_the_stream_flows_on(system, report):
    poison = [
        ("pair.created", b"this is not JSON"),
        ("pair.created", b'{"round_id": "first", "members": "nobody"}'),
    ]
    events = pairs(system, 20)
    chats = {chat_of(m.id) for e in events for m in e.members}
    system.publish(events[:10], raw=poison)
    system.publish(events[10:])

    ids = [e.event_id for e in events]
    for service in ("profile", "notifier"):
        eventually(
            lambda s=service: system.processed(s, ids) == len(events),
            f"{service} applies the events behind the poison",
            timeout=CONVERGE_SECONDS,
        )
    # One dead letter per poison message and consumer of pair.created (profile, notifier).
    letters = eventually(
        lambda: (found := system.dead_letters("pair.created")) and len(found) >= 4 and found,
        "both consumers dead-letter both poison messages",
        timeout=CONVERGE_SECONDS,
    )
    system.await_announcements(chats, CONVERGE_SECONDS)

    rows = history_rows(system, events)
    history = tally(expected_rows(events), rows)
    messages = tally(chats, system.announcements())
    report("poison/profile history rows", **history)
    report("poison/notifier telegram messages", **messages)
    assert sorted(data for data, _ in letters) == sorted(data for _, data in poison * 2)
    for _, headers in letters:
        assert headers["Unimatch-Subject"] == "pair.created"
        assert headers["Unimatch-Reason"].split(":")[0] in {"ValidationError", "JSONDecodeError"}
    assert history["duplicated"] == history["lost"] == 0
    assert messages["duplicated"] == messages["lost"] == 0
