"""The contract through the compose stack's gateway, every service as several replicas, and a
service container restarted under it losing nothing: accounts, sessions, match history, and
the events published around the restart (docs/adr/019-compose-without-registries.md); with
one replica of a service stopped, the others answer (docs/adr/024-several-instances.md)."""

import time
from functools import partial

import pytest

from tests.compose.conftest import REPLICAS, SERVICES
from tests.compose.steps import (
    PASSWORD,
    answered,
    hold_round,
    log_in,
    partners,
    register,
    wait_until_matching_knows,
)
from tests.e2e.helpers import auth, new_email
from tests.support.helpers import eventually


def test_register_log_in_and_a_staff_round_pairs_people(api, compose, staff, timings):
    started = time.monotonic()
    first, second = register(api, hobby=[1, 2]), register(api, hobby=[2, 3])
    tokens = [log_in(api, person["user"]["email"]) for person in (first, second)]
    tags = api.get("/users/api/tags/", headers=auth(tokens[0]))
    assert tags.status_code == 200 and tags.json() == ["Программирование", "Спорт"]
    wait_until_matching_knows(compose, [first["user"]["id"], second["user"]["id"]])

    summary = hold_round(api, staff)
    assert summary["users"] >= 2 and summary["groups"] >= 1
    rounds = api.get("/matching/api/rounds/", headers=staff).json()
    assert rounds[0]["round_id"] == summary["round_id"]

    history = eventually(lambda: partners(api, tokens[0]), "the first user's match", timeout=60)
    assert second["user"]["id"] in {row["partner"]["id"] for row in history}
    assert any("Спорт" in row["common_hobbies"] for row in history)
    timings.record("register, log in, staff round, pairs", started)


def test_every_service_runs_the_replicas_compose_declares(compose):
    for service in SERVICES:
        replicas = compose.containers(service)
        assert len(replicas) == REPLICAS, f"{service} runs {len(replicas)} containers"
        assert {compose.health(c) for c in replicas} == {"healthy"}, service


@pytest.mark.parametrize("service", SERVICES)
def test_with_one_replica_stopped_the_others_answer(api, compose, staff, timings, service):
    """The gateway finds every replica by DNS and tries another when one cannot be reached:
    with one container of ``service`` stopped, the contract answers at once, never a 503; the
    replica started again is healthy and nothing was lost. Placed before the restarts below:
    a pooled connection that outlived a database restart fails its one request with a 503
    (unimatch_shared/db.py), which this would count against the gateway."""
    before = register(api, hobby=[6])
    token = before["token"]
    [stopped, *_] = compose.containers(service)
    started = time.monotonic()
    compose.docker("stop", stopped)
    try:
        for _ in range(2 * REPLICAS):  # the gateway may pick the stopped one for any
            spec = api.get(f"/openapi/{service}.json")
            assert spec.status_code == 200, spec.text
        body = {"email": new_email(), "password": PASSWORD, "hobby": [6]}
        during = api.post("/users/api/register/", json=body)
        assert during.status_code == 201, during.text
        login = api.post("/auth/token/login/", json={"email": body["email"], "password": PASSWORD})
        assert login.status_code == 201, login.text
        me = api.get("/users/api/me/", headers=auth(token))
        assert me.status_code == 200, me.text
        newcomer = during.json()
        wait_until_matching_knows(compose, [before["user"]["id"], newcomer["user"]["id"]])
        held = api.post("/matching/api/rounds/", headers=staff)
        assert held.status_code == 201, held.text
    finally:
        compose.docker("start", stopped)
    compose.wait_healthy(service)
    timings.record(f"one replica of {service} stopped and started until healthy", started)

    for person in (before, newcomer):
        matched = partial(partners, api, person["token"])
        eventually(matched, "a match in the round held with a replica stopped", timeout=60)
    assert log_in(api, before["user"]["email"])


@pytest.mark.parametrize("service", ["matching", "nats", "postgres"])
def test_a_restarted_container_loses_nothing(api, compose, staff, timings, service):
    """Stop one container, register while it is down (a 503 is fine where the account
    cannot be stored), start it again: what was there before is intact, and the account made
    around the restart reaches matching and gets paired."""
    before = register(api, hobby=[4])
    partner = register(api, hobby=[4])
    ids = [before["user"]["id"], partner["user"]["id"]]
    wait_until_matching_knows(compose, ids)
    hold_round(api, staff)
    token = before["token"]
    history = eventually(lambda: partners(api, token), "a match before the restart", timeout=60)

    started = time.monotonic()
    compose.compose("stop", service)
    during = api.post(
        "/users/api/register/", json={"email": new_email(), "password": PASSWORD, "hobby": [5]}
    )
    assert during.status_code in (201, 503), during.text
    compose.compose("start", service)
    compose.wait_healthy(service)
    timings.record(f"stop and start {service} until healthy", started)

    around = [during.json()] if during.status_code == 201 else []
    around += [register(api, hobby=[5]) for _ in range(2 - len(around))]
    assert log_in(api, before["user"]["email"])
    me = answered(lambda: api.get("/users/api/me/", headers=auth(token)))
    assert me.status_code == 200, f"the session did not survive: {me.text}"
    assert partners(api, token) == history
    wait_until_matching_knows(compose, [person["user"]["id"] for person in around])

    hold_round(api, staff)
    for newcomer in around:
        matched = partial(partners, api, newcomer["token"])
        eventually(matched, "a match for an account made around the restart", timeout=60)
