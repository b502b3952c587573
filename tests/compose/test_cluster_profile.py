"""docker-compose.yml's `cluster` profile on a real engine, the services pointed at its three
nodes as README (NATS as a cluster) tells an operator to: every stream kept on all three, the
single `nats` left unused, and the contract carrying on with a node stopped
(docs/adr/022-nats-cluster.md)."""

import json
import time
from functools import partial

import pytest
import yaml

from tests.compose.conftest import SERVICES, running_stack
from tests.compose.steps import hold_round, log_in, partners, register, wait_until_matching_knows
from tests.support.helpers import eventually
from unimatch_stack.compose import COMPOSE_FILE

PROJECT = "unimatch-compose-cluster-test"
NODES = ["nats-1", "nats-2", "nats-3"]


def cluster_override() -> dict:
    """README's docker-compose.override.yml: each service's own NATS user (its URL in
    docker-compose.yml) on every node, three copies of every stream and bucket, and a start
    only once the nodes are healthy (they have elected a JetStream leader)."""
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    override = {}
    for service in SERVICES:
        single = services[service]["environment"]["NATS_URL"]
        urls = [single.replace("@nats:", f"@{node}:") for node in NODES]
        assert urls[0] != single, f"{service}'s NATS_URL does not name the server nats"
        override[service] = {
            "environment": {"NATS_URL": ",".join(urls), "UNIMATCH_STREAM_REPLICAS": "3"},
            "depends_on": {node: {"condition": "service_healthy"} for node in NODES},
        }
    return {"services": override}


@pytest.fixture(scope="module")
def compose_stack(timings, tmp_path_factory):
    override = tmp_path_factory.mktemp("cluster") / "docker-compose.override.yml"
    override.write_text(yaml.safe_dump(cluster_override()))
    options = ("--file", str(override), "--profile", "cluster")
    with running_stack(timings, PROJECT, *options) as stack:
        yield stack


def stream_replicas(compose) -> dict[str, int]:
    """{stream: copies} as JetStream's monitoring endpoint on a node reports them."""
    url = "http://127.0.0.1:8222/jsz?accounts=true&streams=true&config=true"
    report = json.loads(compose.compose("exec", "-T", NODES[0], "wget", "-q", "-O", "-", url))
    return {
        stream["name"]: stream["config"]["num_replicas"]
        for account in report.get("account_details", [])
        for stream in account.get("stream_detail", [])
    }


def test_every_stream_is_kept_on_the_three_nodes(compose):
    replicas = stream_replicas(compose)
    assert replicas, "no stream on the cluster: the services are not using it"
    assert set(replicas.values()) == {3}, replicas


def test_the_contract_carries_on_without_the_single_server_and_one_node(
    api, compose, staff, timings
):
    """`nats` stopped for good (the services must not need it) and `nats-2` stopped for a
    while: sign-ups made meanwhile reach matching and get paired; after the node's return,
    sessions and history are intact (the second round adds to it)."""
    before = [register(api, hobby=[7]) for _ in range(2)]
    wait_until_matching_knows(compose, [person["user"]["id"] for person in before])
    compose.compose("stop", "nats")
    hold_round(api, staff)
    token = before[0]["token"]
    history = eventually(lambda: partners(api, token), "a match on the cluster", timeout=60)

    compose.compose("stop", NODES[1])
    during = [register(api, hobby=[8]) for _ in range(2)]
    wait_until_matching_knows(compose, [person["user"]["id"] for person in during])
    hold_round(api, staff)
    for person in during:
        matched = partial(partners, api, person["token"])
        eventually(matched, "a match for an account made with a node down", timeout=60)

    started = time.monotonic()
    compose.compose("start", NODES[1])
    compose.wait_healthy(NODES[1])
    timings.record(f"start {NODES[1]} again until healthy", started)
    assert log_in(api, before[0]["user"]["email"])
    now = partners(api, token)
    assert [row for row in now if row["id"] in {old["id"] for old in history}] == history
