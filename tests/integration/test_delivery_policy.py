"""The delivery policy against a real JetStream (shared/consumers.py, docs/adr/007): an
infrastructure failure is retried however many times it happens; a failure retrying cannot fix
is dead-lettered after the configured deliveries; an unparsable event at once."""

import sqlalchemy.exc
from psycopg import OperationalError

from tests.support.helpers import eventually, publish
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.events import UserRegistered
from unimatch_shared.messaging import Messaging
from unimatch_shared.settings import ServiceSettings

MAX_DELIVERIES = 3
OUTAGE_DELIVERIES = 4 * MAX_DELIVERIES  # an "outage" longer than the dead-letter horizon


class Refused(Exception):
    """A handler's own refusal: the event will never be acceptable."""


async def dead_letters(js, messaging: Messaging) -> list[tuple[bytes, dict]]:
    state = (await js.stream_info(messaging.dead_letter_stream)).state
    letters = []
    for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
        message = await js.get_msg(messaging.dead_letter_stream, seq)
        letters.append((message.data, dict(message.headers or {})))
    return letters


async def test_outages_are_waited_out_refusals_and_garbage_are_dead_lettered(fresh_prefix, js):
    settings = ServiceSettings(
        nats_url=fresh_prefix.nats_url,
        unimatch_event_prefix=fresh_prefix.event_prefix,
        unimatch_ack_wait_seconds=5,
        unimatch_event_max_deliveries=MAX_DELIVERIES,
        unimatch_event_retry_max_delay_seconds=0.05,
    )
    messaging = Messaging(settings, client_name="policy-test")
    handlers = MessageHandlers(messaging, "policy")
    outage, refused = (
        UserRegistered(user_id=1, email="a@example.com"),
        UserRegistered(user_id=2, email="b@example.com"),
    )
    deliveries: dict[int, int] = {}
    handled: list[int] = []

    @handlers.consumer(UserRegistered)
    async def handle(event: UserRegistered) -> None:
        deliveries[event.user_id] = deliveries.get(event.user_id, 0) + 1
        if event.user_id == refused.user_id:
            raise Refused()
        if deliveries[event.user_id] <= OUTAGE_DELIVERIES:
            cause = OperationalError("connection refused")
            raise sqlalchemy.exc.OperationalError("SELECT 1", None, cause)
        handled.append(event.user_id)

    broker = messaging.broker
    broker.include_router(handlers.router)
    await broker.connect()
    try:
        await messaging.ensure_streams()
        await broker.start()
        prefix = fresh_prefix.event_prefix
        await publish(js, prefix, outage)
        await publish(js, prefix, refused)
        await js.publish(prefix + UserRegistered.SUBJECT, b'{"user_id": "not a number"}')

        await eventually(lambda: handled == [outage.user_id], "the outage is waited out")
        letters = await eventually(
            lambda: _at_least(dead_letters(js, messaging), 2), "refusal and garbage parked"
        )
    finally:
        await broker.stop()

    assert deliveries[outage.user_id] == OUTAGE_DELIVERIES + 1
    assert deliveries[refused.user_id] == MAX_DELIVERIES
    reasons = sorted(headers["Unimatch-Reason"].split(":")[0] for _, headers in letters)
    assert reasons == ["Refused", "ValidationError"]
    assert {headers["Unimatch-Consumer"] for _, headers in letters} == {
        messaging.durable("policy", UserRegistered)
    }
    assert outage.model_dump_json().encode() not in {data for data, _ in letters}


async def _at_least(letters, count: int):
    found = await letters
    return found if len(found) >= count else None
