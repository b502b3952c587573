"""Observability of a running service, shown on matching: request ids in and out, the
request id carried by the events a request causes, and ``/metrics``."""

from matching_service.main import create_app
from tests.conftest import running_app
from tests.integration.matching.helpers import (
    STAFF_TOKEN,
    FakeVerifier,
    profile,
    published_pairs,
    wait_for_participants,
)
from tests.support.helpers import auth, publish, scrape


def requests(series, route: str, status: str) -> float:
    labels = frozenset({"method": "GET", "route": route, "status": status}.items())
    return series.get(("unimatch_http_requests_total", labels), 0.0)


async def test_requests_carry_an_id_and_are_counted_by_route_and_status(matching_settings):
    app = create_app(matching_settings)
    async with running_app(app) as client:
        before = await scrape(client)
        given = await client.get("/users/api/days-to-match", headers={"X-Request-Id": "it-1"})
        made = await client.get("/users/api/days-to-match/")
        await client.get("/users/api/no-such-thing")
        after = await scrape(client)
        schema = (await client.get("/openapi.json")).json()

    assert given.headers["X-Request-Id"] == "it-1"
    assert made.headers["X-Request-Id"] not in ("", "it-1")
    route = "/users/api/days-to-match"
    assert requests(after, route, "200") == requests(before, route, "200") + 2
    assert requests(after, "unmatched", "404") == requests(before, "unmatched", "404") + 1
    assert requests(after, "/metrics", "200") == 0, "scrapes are not traffic"
    assert ("unimatch_outbox_pending", frozenset()) in after
    assert "/metrics" not in schema["paths"]


async def test_a_round_carries_its_request_id_to_its_events_and_shows_in_metrics(
    matching_settings, js
):
    prefix, db = matching_settings.unimatch_event_prefix, matching_settings.database_url
    app = create_app(matching_settings)
    app.state.token_verifier = FakeVerifier()
    async with running_app(app) as client:
        for event in (profile(1, 2), profile(2, 2), profile(3, 5)):
            await publish(js, prefix, event)
        await wait_for_participants(db, 3)

        response = await client.post(
            "/matching/api/rounds/", headers={**auth(STAFF_TOKEN), "X-Request-Id": "round-it-2"}
        )
        assert response.status_code == 201, response.text
        events = await published_pairs(js, app.state.runtime, db)
        series = await scrape(client)

    assert {e.correlation_id for e in events} == {"round-it-2"}
    assert series[("unimatch_round_users", frozenset())] == response.json()["users"] == 3
    assert series[("unimatch_round_groups", frozenset())] == response.json()["groups"] == 1
    assert series[("unimatch_outbox_pending", frozenset())] == 0
    published = ("unimatch_events_published_total", frozenset({("subject", "pair.created")}))
    assert series[published] >= 1
