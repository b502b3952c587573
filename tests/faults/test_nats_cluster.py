"""A three-node JetStream cluster, streams and KV buckets in three copies
(``UNIMATCH_STREAM_REPLICAS=3``), services given every node's URL: the node leading the event
stream is SIGKILLed while sign-ups stream in and a staff round's ``pair.created`` events are
being consumed, and stays down. The two left elect new leaders, clients move over, and nothing
is lost or done twice (the traffic and what must hold: nats_traffic.py). Then the node comes
back and catches up.
"""

import asyncio

import nats
import pytest

from tests.faults.conftest import fault_system
from tests.faults.nats_traffic import traffic_through_a_fault
from tests.support.helpers import eventually
from unimatch_shared.settings import nats_servers
from unimatch_stack.infra import EmbeddedNats, NatsCluster

NODES = 3


@pytest.fixture(scope="module")
def system(var_dir):
    with fault_system(var_dir, nats_nodes=NODES) as running:
        yield running


def stream_cluster(system) -> tuple[str, int]:
    """The event stream's leader (a server name) and how many of its copies are current."""

    async def ask() -> tuple[str, int]:
        client = await nats.connect(nats_servers(system.nats.url), connect_timeout=5)
        try:
            info = await client.jetstream().stream_info(
                system.prefix.replace(".", "_") + "UNIMATCH"
            )
        finally:
            await client.close()
        assert info.cluster is not None and info.cluster.leader is not None
        current = 1 + sum(1 for peer in info.cluster.replicas or () if peer.current)
        return info.cluster.leader, current

    return asyncio.run(ask())


def test_a_cluster_node_killed_mid_traffic(system, report):
    cluster: NatsCluster = system.nats
    assert stream_cluster(system)[1] == NODES, "the event stream starts with three copies"
    killed: list[EmbeddedNats] = []

    def kill_the_stream_leader() -> None:
        leader, _ = stream_cluster(system)
        node = cluster.node_named(leader)
        node.kill()
        killed.append(node)

    traffic_through_a_fault(
        system,
        report,
        f"nats-cluster/{NODES} nodes, the stream leader killed",
        kill_the_stream_leader,
        lambda: None,
    )

    # The node comes back on its ports and store, and the stream has three copies again.
    node = killed[0]
    node.start()
    cluster.wait_healthy()
    eventually(
        lambda: stream_cluster(system)[1] == NODES,
        f"{node.name} catches up with the event stream",
        timeout=60,
    )
