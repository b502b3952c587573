"""Operating the running system: one registration followed through the services' logs by its
request id, and each service's ``/metrics`` (scraped directly, not through the gateway)."""

import json
import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import new_email
from tests.support.helpers import eventually
from unimatch_stack.supervisor import SERVICES


def log_lines_with(stack, service: str, request_id: str) -> list[dict]:
    """The JSON log lines of ``service`` that carry ``request_id``."""
    found = []
    for line in stack.processes[service].log_path.read_text().splitlines():
        if request_id in line:
            entry = json.loads(line)
            if entry.get("request_id") == request_id:
                found.append(entry)
    return found


def wait_for_log(stack, service: str, request_id: str) -> list[dict]:
    return eventually(
        lambda: log_lines_with(stack, service, request_id),
        f"{request_id} appears in {service}'s log",
        interval=0.2,
    )


def scrape(stack, service: str) -> dict[str, float]:
    """Every sample of the service's /metrics, keyed by name and labels as exposed."""
    response = httpx.get(stack.service_url(service) + "/metrics", timeout=10)
    assert response.status_code == 200
    return {
        s.name + json.dumps(s.labels, sort_keys=True): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_one_registration_can_be_followed_through_the_logs(api, stack):
    request_id = f"e2e-{secrets.token_hex(8)}"
    body = {"email": new_email(), "password": "pa55word", "hobby": [1]}
    response = api.post("/users/api/register/", json=body, headers={"X-Request-Id": request_id})
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == request_id

    access = wait_for_log(stack, "auth", request_id)
    assert any(e["route"] == "/users/api/register" and e["status"] == 201 for e in access)
    # user.registered, then the profile.changed profile emits while handling it, carry the id.
    profile = wait_for_log(stack, "profile", request_id)
    assert any(e.get("message") == "event user.registered handled" for e in profile)
    matching = wait_for_log(stack, "matching", request_id)
    assert any(e.get("message") == "event profile.changed handled" for e in matching)


def test_the_gateway_gives_every_request_an_id(api):
    first = api.get("/users/api/hobby/all").headers["X-Request-Id"]
    second = api.get("/users/api/hobby/all").headers["X-Request-Id"]
    assert first and second and first != second


def test_every_service_exposes_its_metrics_directly_and_not_through_the_gateway(api, stack):
    for spec in SERVICES:
        series = scrape(stack, spec.name)
        assert any(name.startswith("unimatch_outbox_pending") for name in series), spec.name
    api.get("/users/api/hobby/all")
    served = scrape(stack, "profile")
    key = 'unimatch_http_requests_total{"method": "GET", "route": "/users/api/hobby/all", '
    assert served[key + '"status": "200"}'] >= 1
    assert api.get("/metrics").status_code == 404


def test_a_staff_round_shows_in_matchings_metrics(api, staff, stack):
    response = api.post("/matching/api/rounds/", headers=staff)
    assert response.status_code == 201, response.text
    held = response.json()

    series = scrape(stack, "matching")
    assert series["unimatch_round_users{}"] == held["users"]
    assert series["unimatch_round_groups{}"] == held["groups"]
    assert series["unimatch_round_last_finished_timestamp_seconds{}"] > 0
