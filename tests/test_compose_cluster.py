"""docker-compose.yml's ``cluster`` profile: three nats-servers forming one JetStream cluster
(README, NATS as a cluster), checked the way tests/test_compose.py checks the rest, without
Docker."""

from tests.test_compose import BUILT, COMPOSE, SERVICES

NODES = ["nats-1", "nats-2", "nats-3"]


def options(name: str) -> dict[str, str]:
    """A node's nats-server options, `--name value` pairs (`-js` alone)."""
    command = [word for word in SERVICES[name]["command"] if word != "-js"]
    return dict(zip(command[::2], command[1::2], strict=True))


def test_the_cluster_profile_holds_three_nodes_and_nothing_else():
    in_profile = sorted(
        name for name, spec in SERVICES.items() if "cluster" in spec.get("profiles", ())
    )
    assert in_profile == NODES
    assert "profiles" not in SERVICES["nats"], "the single server still runs by default"


def test_every_node_routes_to_every_node_of_one_named_cluster():
    names = {options(node)["--server_name"] for node in NODES}
    assert names == set(NODES), "JetStream clustering needs a distinct server name per node"
    for node in NODES:
        given = options(node)
        assert "-js" in SERVICES[node]["command"]
        assert given["--cluster_name"] == "unimatch"
        port = given["--cluster"].rsplit(":", 1)[1]
        assert given["--routes"].split(",") == [f"nats-route://{n}:{port}" for n in NODES]


def test_every_node_keeps_its_store_in_a_volume_of_its_own():
    stores = {}
    for node in NODES:
        [mount] = [m for m in SERVICES[node]["volumes"] if not m.startswith("./")]
        volume, path = mount.split(":")
        assert path == options(node)["-sd"]
        stores[node] = volume
    assert len(set(stores.values())) == len(NODES)
    assert set(stores.values()) <= set(COMPOSE["volumes"])


def test_nodes_are_healthy_only_with_a_jetstream_leader():
    for node in NODES:
        check = SERVICES[node]["healthcheck"]["test"]
        port = options(node)["--http_port"]
        assert check[-1] == f"http://127.0.0.1:{port}/healthz", "no js-enabled-only shortcut"


def test_services_take_the_replica_count_from_the_operator():
    for name in BUILT:
        env = SERVICES[name]["environment"]
        assert env["UNIMATCH_STREAM_REPLICAS"] == "${UNIMATCH_STREAM_REPLICAS:-}"


def test_every_node_knows_the_same_users_as_the_single_server():
    """Services log in as their own users (docs/adr/018-service-credentials.md) wherever they
    connect: every node reads the same configuration with the same passwords."""
    single = SERVICES["nats"]
    config = single["command"][single["command"].index("-c") + 1]
    for node in NODES:
        assert options(node)["-c"] == config
        assert set(single["volumes"]) - {"nats-data:/data"} <= set(SERVICES[node]["volumes"])
        assert SERVICES[node]["environment"] == single["environment"]
