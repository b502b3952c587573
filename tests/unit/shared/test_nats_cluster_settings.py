"""NATS as a cluster (docs/adr/022-nats-cluster.md): NATS_URL may name several servers, the
streams' replica count is a setting, and `make run` can start a local cluster."""

import pytest
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from pydantic import ValidationError

from unimatch_shared.messaging import Messaging, differs
from unimatch_shared.settings import ServiceSettings
from unimatch_stack import credentials, run
from unimatch_stack.infra import ClusterNode, InfraError, cluster_arguments, nats_nodes


def test_nats_url_names_one_server_or_several_separated_by_commas():
    assert ServiceSettings().nats_servers == ["nats://127.0.0.1:4222"]
    several = ServiceSettings(nats_url="nats://n1:4222, nats://n2:4222,,nats://n3:4222 ")
    assert several.nats_servers == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]


def test_a_nats_url_naming_no_server_is_refused():
    with pytest.raises(ValidationError, match="NATS_URL names no server"):
        ServiceSettings(nats_url=" , ")


def test_stream_replicas_default_to_one_and_stay_within_what_jetstream_allows(monkeypatch):
    assert ServiceSettings().unimatch_stream_replicas == 1
    monkeypatch.setenv("UNIMATCH_STREAM_REPLICAS", "3")
    assert ServiceSettings().unimatch_stream_replicas == 3
    for refused in ("0", "6"):
        monkeypatch.setenv("UNIMATCH_STREAM_REPLICAS", refused)
        with pytest.raises(ValidationError):
            ServiceSettings()


def test_replicated_buckets_are_read_through_the_leader_single_copies_directly():
    single = Messaging(ServiceSettings(), "test").kv_config("sessions", history=1)
    assert (single.replicas, single.direct, single.history) == (1, True, 1)
    replicated = Messaging(ServiceSettings(unimatch_stream_replicas=3), "test").kv_config("keys")
    assert (replicated.replicas, replicated.direct) == (3, False)


def test_each_cluster_node_routes_to_every_other_one():
    nodes = [ClusterNode(f"nats-{i}", 4000 + i, 5000 + i, 6000 + i) for i in (1, 2, 3)]
    arguments = cluster_arguments(nodes[1], nodes)
    options = dict(zip(arguments[::2], arguments[1::2], strict=True))
    assert options == {
        "--server_name": "nats-2",
        "--cluster_name": "unimatch",
        "--cluster": "nats://127.0.0.1:5002",
        "--routes": "nats-route://127.0.0.1:5001,nats-route://127.0.0.1:5003",
        "--http_port": "6002",
    }


def test_make_run_starts_as_many_nats_nodes_as_asked_and_replicates_on_up_to_three(monkeypatch):
    assert nats_nodes({}) == 1
    assert nats_nodes({"UNIMATCH_NATS_NODES": "5"}) == 5
    for refused in ("0", "three", "-1"):
        with pytest.raises(InfraError, match="UNIMATCH_NATS_NODES"):
            nats_nodes({"UNIMATCH_NATS_NODES": refused})

    for name in ("NATS_URL", "UNIMATCH_STREAM_REPLICAS", "UNIMATCH_NATS_NODES"):
        monkeypatch.delenv(name, raising=False)
    assert run._cluster_env() == {}
    monkeypatch.setenv("UNIMATCH_NATS_NODES", "5")
    assert run._cluster_env() == {"UNIMATCH_STREAM_REPLICAS": "3"}
    monkeypatch.setenv("UNIMATCH_STREAM_REPLICAS", "5")
    assert run._cluster_env() == {}, "an explicit setting is the services' own"
    monkeypatch.delenv("UNIMATCH_STREAM_REPLICAS")
    monkeypatch.setenv("NATS_URL", "nats://elsewhere:4222")
    assert run._cluster_env() == {}, "no embedded NATS, nothing to say about it"


def test_a_stream_already_as_wanted_is_left_alone_and_any_difference_updates_it():
    wanted = StreamConfig(
        name="UNIMATCH",
        subjects=["user.registered", "pair.created"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=90 * 24 * 3600,
        num_replicas=3,
    )
    # As the server reports it: every field filled in, durations in nanoseconds.
    reported = {
        "name": "UNIMATCH",
        "subjects": ["user.registered", "pair.created"],
        "retention": "limits",
        "storage": "file",
        "discard": "old",
        "max_age": 90 * 24 * 3600 * 10**9,
        "duplicate_window": 120 * 10**9,
        "num_replicas": 3,
        "max_msgs": -1,
    }
    assert not differs(StreamConfig.from_response(dict(reported)), wanted)
    assert differs(StreamConfig.from_response({**reported, "num_replicas": 1}), wanted)
    narrower = {**reported, "subjects": ["user.registered"]}
    assert differs(StreamConfig.from_response(narrower), wanted)


def test_a_service_logs_in_as_its_own_user_on_every_node_of_a_cluster():
    cluster = "nats://127.0.0.1:14222,nats://127.0.0.1:14223"
    assert credentials.with_user(cluster, "auth", "p@ss") == (
        "nats://auth:p%40ss@127.0.0.1:14222,nats://auth:p%40ss@127.0.0.1:14223"
    )
    assert (
        credentials.with_user("nats://old:x@nats:4222", "auth", "pw") == "nats://auth:pw@nats:4222"
    )
