"""Streams and KV buckets on a three-node JetStream cluster of the test's own
(docs/adr/022-nats-cluster.md).

Made with one copy, they get three once the services run with ``UNIMATCH_STREAM_REPLICAS=3``
(the durable consumers with them), and replicated buckets are read through the stream leader.
A client given every node's URL carries on when the node it is connected to dies.
"""

import asyncio
import uuid

import nats
import pytest
from nats.js.api import ConsumerConfig

from tests.support.helpers import eventually
from unimatch_shared.errors import ServiceUnavailable
from unimatch_shared.messaging import Messaging
from unimatch_shared.sessions import Session, SessionStore
from unimatch_shared.settings import ServiceSettings
from unimatch_stack.infra import NatsCluster
from unimatch_stack.testinfra import new_event_prefix


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = NatsCluster(tmp_path_factory.mktemp("nats-cluster"), size=3, port=0)
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def admin(cluster):
    client = await nats.connect(cluster.url.split(","))
    yield client.jetstream()
    await client.close()


async def started(cluster: NatsCluster, prefix: str, replicas: int) -> Messaging:
    settings = ServiceSettings(
        nats_url=cluster.url, unimatch_event_prefix=prefix, unimatch_stream_replicas=replicas
    )
    messaging = Messaging(settings, client_name=f"test-r{replicas}")
    await messaging.broker.connect()
    await messaging.ensure_streams()
    return messaging


async def copies(js, stream: str, consumer: str | None = None) -> int:
    """How many current copies the stream (or its consumer) has, the leader's included."""
    info = await (js.consumer_info(stream, consumer) if consumer else js.stream_info(stream))
    if info.cluster is None:  # being moved: no copy reports yet
        return 0
    return 1 + sum(1 for peer in info.cluster.replicas or () if peer.current)


def three_copies(js, stream: str, consumer: str | None = None):
    """For ``eventually``: whether the stream (or consumer) has three current copies."""

    async def check() -> bool:
        return await copies(js, stream, consumer) == 3

    return check


async def test_single_copies_become_three_when_the_setting_says_so(cluster, admin):
    prefix = new_event_prefix()
    one = await started(cluster, prefix, replicas=1)
    store = SessionStore(one, idle_seconds=3600)
    assert await store.open()
    await store.save("ab" * 32, Session(user_id=7))
    stream, dead_letters = one.stream.name, one.dead_letter_stream
    kv_stream = f"KV_{store.bucket}"
    await admin.add_consumer(stream, ConsumerConfig(durable_name="profile-user-registered"))
    assert (await admin.stream_info(stream)).config.num_replicas == 1
    assert (await admin.stream_info(kv_stream)).config.allow_direct
    await one.broker.stop()

    three = await started(cluster, prefix, replicas=3)
    try:
        replicated = SessionStore(three, idle_seconds=3600)
        assert not await replicated.open(), "the existing bucket, not a new one"
        for name in (stream, dead_letters, kv_stream):
            assert (await admin.stream_info(name)).config.num_replicas == 3
            await eventually(three_copies(admin, name), f"{name} has 3 copies")
        await eventually(
            three_copies(admin, stream, "profile-user-registered"),
            "the durable consumer follows its stream to 3 copies",
        )
        config = (await admin.stream_info(kv_stream)).config
        assert not config.allow_direct, "a follower could answer a read with a stale session"
        assert (config.max_age, config.max_msgs_per_subject) == (3600, 1)
        assert await replicated.find("ab" * 32) == Session(user_id=7)
    finally:
        await three.broker.stop()


async def test_a_client_given_every_node_carries_on_when_its_node_dies(cluster, admin):
    prefix = new_event_prefix()
    messaging = await started(cluster, prefix, replicas=3)
    store = SessionStore(messaging, idle_seconds=3600)
    await store.open()
    subject = messaging.subject("user.registered")
    sent = [str(uuid.uuid4()) for _ in range(40)]

    async def publish(ids: list[str]) -> None:
        js = messaging.jetstream()
        for message_id in ids:
            # Through a leader election a publish may time out: sent again under the same
            # id, as the outbox relay would, JetStream keeps it once.
            await eventually(
                lambda message_id=message_id: _published(js, subject, message_id),
                "a publish is acknowledged",
                timeout=30,
            )

    await publish(sent[:20])
    connected = messaging.broker.connection.connected_url
    victim = next(node for node in cluster.nodes if node.port == connected.port)
    victim.kill()
    try:
        await publish(sent[20:])
        assert messaging.broker.connection.connected_url.port != victim.port

        async def saved() -> bool:
            # The bucket's own leader may have died too: a 503 until it has a new one.
            try:
                await store.save("cd" * 32, Session(user_id=8))
            except ServiceUnavailable:
                return False
            return True

        await eventually(saved, "a session is stored without the dead node", timeout=30)
        assert await store.find("cd" * 32) == Session(user_id=8)
        info = await admin.stream_info(messaging.stream.name)
        assert info.state.messages == len(sent)
    finally:
        await messaging.broker.stop()
        victim.start()
        await asyncio.to_thread(cluster.wait_healthy)
    await eventually(three_copies(admin, messaging.stream.name), "the node catches up")


async def _published(js, subject: str, message_id: str) -> bool:
    try:
        await js.publish(subject, b"{}", headers={"Nats-Msg-Id": message_id}, timeout=2)
    except (nats.errors.Error, TimeoutError):
        return False
    return True
