"""Replaying dead letters: `make replay-dead-letters` (`python -m unimatch_shared.dead_letters`).

The delivery policy (``consumers.py``) parks an event it gives up on in the dead-letter stream
(``<prefix>UNIMATCH_DEAD_LETTER``, subjects ``deadletter.<subject>``, headers
``Unimatch-Subject``, ``Unimatch-Reason``, ``Unimatch-Consumer``) and terminates the
original. Once the cause is fixed, this puts them back: each parked event is re-published,
byte for byte, to its original subject on the event stream, and its dead letter is deleted once
the stream has acknowledged the copy.

Safe to repeat (docs/adr/007): every consumer of the subject receives the copy, and one that
applied the event already — a ``pair.created`` parked by profile but applied by the notifier —
finds its ``event_id`` in its inbox and does nothing. The copy's ``Nats-Msg-Id`` is
``replay-<dead-letter sequence>``, not the event id, which the stream's 24-hour duplicate window
would drop; so a replay cut off between publishing and deleting publishes nothing new when run
again within the window, and the inbox covers the rest. Only what was parked when the replay
started is replayed: an event that fails again is parked again, for a later run.

Configuration as the services': ``NATS_URL``, ``UNIMATCH_EVENT_PREFIX``.
"""

import argparse
import asyncio
import hashlib
import json
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from unimatch_shared.events import EVENTS_BY_SUBJECT
from unimatch_shared.messaging import DEAD_LETTER_PREFIX, Messaging
from unimatch_shared.settings import ServiceSettings


@dataclass
class Replay:
    """What one run did (or, with ``dry_run``, would do)."""

    replayed: list[str] = field(default_factory=list)  # one line per event put back
    duplicates: int = 0  # parked copies of an event already put back in this run
    skipped: list[str] = field(default_factory=list)  # left parked: not asked for, or unknown


async def replay_dead_letters(
    js: JetStreamContext,
    messaging: Messaging,
    subjects: Collection[str] = (),
    dry_run: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> Replay:
    """Re-publish what the dead-letter stream holds now (only ``subjects``, if given) to the
    event stream; see the module's docstring."""
    stream = messaging.dead_letter_stream
    parked = messaging.subject(f"{DEAD_LETTER_PREFIX}.>")
    result = Replay()
    try:
        state = (await js.stream_info(stream)).state
    except NotFoundError:
        return result  # no service has run here yet: nothing was ever parked
    if not state.messages:
        return result
    put_back: set[tuple[str, str]] = set()
    seq = state.first_seq
    while seq <= state.last_seq:
        try:
            letter = await js.get_msg(stream, seq=seq, subject=parked, next=True)
        except NotFoundError:
            break
        # nats-py types a stored message's fields optional: seq and subject are always there.
        assert letter.seq is not None and letter.subject is not None
        data = letter.data or b""  # nats-py gives None for an empty payload
        if letter.seq > state.last_seq:
            break  # parked after this run started
        seq = letter.seq + 1
        headers = letter.headers or {}
        dead_subject = letter.subject.removeprefix(messaging.prefix)
        original = headers.get("Unimatch-Subject") or dead_subject.split(".", 1)[1]
        event_id = _event_id(data)
        line = (
            f"{original} event {event_id} (dead letter {letter.seq}, parked by "
            f"{headers.get('Unimatch-Consumer', 'a consumer')}: "
            f"{headers.get('Unimatch-Reason', 'no reason given')})"
        )
        if original not in EVENTS_BY_SUBJECT or (subjects and original not in subjects):
            result.skipped.append(line)
            say(f"left parked: {line}")
            continue
        if (original, event_id) in put_back:
            result.duplicates += 1
            say(f"already put back in this run: {line}")
        else:
            if not dry_run:
                await js.publish(
                    messaging.subject(original),
                    data,
                    stream=messaging.stream.name,
                    headers={"Nats-Msg-Id": f"replay-{letter.seq}"},
                )
            put_back.add((original, event_id))
            result.replayed.append(line)
            say(f"{'would replay' if dry_run else 'replayed'}: {line}")
        if not dry_run:
            await js.delete_msg(stream, letter.seq)
    return result


def _event_id(data: bytes) -> str:
    """The event's id; for bytes that are not an event, a digest standing in for it."""
    try:
        return str(json.loads(data)["event_id"])
    except (ValueError, TypeError, KeyError):
        return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


async def run(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make replay-dead-letters",
        description="Re-publish parked events to their original subjects (docs/adr/007).",
    )
    parser.add_argument(
        "--subject",
        action="append",
        default=[],
        choices=sorted(EVENTS_BY_SUBJECT),
        help="only events of this subject (repeatable); default: all",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be replayed; change nothing"
    )
    options = parser.parse_args(arguments)
    settings = ServiceSettings()
    messaging = Messaging(settings, client_name="unimatch-replay-dead-letters")
    client = await nats.connect(
        settings.nats_servers, name="unimatch-replay-dead-letters", tls=settings.nats_tls_context()
    )
    try:
        result = await replay_dead_letters(
            client.jetstream(), messaging, options.subject, options.dry_run, say=print
        )
    finally:
        await client.close()
    verb = "would replay" if options.dry_run else "replayed"
    print(
        f"{verb} {len(result.replayed)} events ({result.duplicates} duplicate dead letters "
        f"{'would be ' if options.dry_run else ''}dropped), {len(result.skipped)} left parked"
    )
    return 0


def main() -> None:
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
