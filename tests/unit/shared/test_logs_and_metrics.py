"""Request and event ids in logs and events; the HTTP middleware; the metrics registry."""

import json
import logging
from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from unimatch_shared import correlation, metrics
from unimatch_shared.consumers import _delivery_policy
from unimatch_shared.events import UserRegistered
from unimatch_shared.http import RequestContext
from unimatch_shared.logs import JsonFormatter
from unimatch_shared.messaging import RequestIdFromHeader, _request_id_header


def sample(name: str, **labels: str) -> float:
    """The current value of one series in the default registry (0 if it has none yet)."""
    body, _ = metrics.render()
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def log_line(**extra) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter("profile").format(record))


def test_log_lines_carry_the_ids_bound_in_context():
    assert "request_id" not in log_line() and "event_id" not in log_line()
    with correlation.bound(request_id="req-1", event_id="ev-1"):
        line = log_line(route="/x", status=200)
    assert line["request_id"] == "req-1" and line["event_id"] == "ev-1"
    assert line["message"] == "hello you" and line["service"] == "profile"
    assert (line["route"], line["status"]) == ("/x", 200)
    assert "request_id" not in log_line(), "unbound after the block"


def test_events_inherit_the_request_id_they_are_created_under():
    assert UserRegistered(user_id=1, email="a@b.c").correlation_id is None
    with correlation.bound(request_id="req-2"):
        assert UserRegistered(user_id=1, email="a@b.c").correlation_id == "req-2"


class FakeJetStreamMessage:
    def __init__(self, subject: str, data: bytes):
        self.subject, self.data = subject, data
        self.metadata = SimpleNamespace(num_delivered=1)
        self.acked = False

    async def ack(self) -> None:
        self.acked = True


async def test_handlers_run_with_the_event_ids_and_emit_events_that_inherit_them():
    messaging = SimpleNamespace(prefix="t1.")
    incoming = UserRegistered(user_id=1, email="a@b.c", correlation_id="req-3")
    message = FakeJetStreamMessage("t1.user.registered", incoming.model_dump_json().encode())
    consumed = sample("unimatch_events_consumed_total", subject="user.registered")

    policy = _delivery_policy(messaging)(message, context=None)
    await policy.on_receive()
    assert correlation.event_id() == str(incoming.event_id)
    emitted = UserRegistered(user_id=2, email="d@e.f")
    await policy.after_processed()

    assert emitted.correlation_id == "req-3"
    assert message.acked
    assert correlation.request_id() is None and correlation.event_id() is None
    assert sample("unimatch_events_consumed_total", subject="user.registered") == consumed + 1


async def test_request_reply_handlers_run_with_the_askers_request_id():
    message = SimpleNamespace(headers={correlation.NATS_HEADER: "req-4"})
    middleware = RequestIdFromHeader(message, context=None)
    await middleware.on_receive()
    assert correlation.request_id() == "req-4"
    await middleware.after_processed()
    assert correlation.request_id() is None


def test_the_request_id_travels_with_requests_to_other_services():
    assert _request_id_header() is None
    with correlation.bound(request_id="req-5"):
        assert _request_id_header() == {correlation.NATS_HEADER: "req-5"}


def http_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestContext)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict:
        return {"request_id": correlation.request_id()}

    return app


async def test_requests_get_an_id_and_are_counted_by_route_template():
    transport = httpx.ASGITransport(app=http_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = sample(
            "unimatch_http_requests_total", method="GET", route="/things/{thing_id}", status="200"
        )
        given = await client.get("/things/1", headers={"X-Request-Id": "given-id"})
        made = await client.get("/things/2")
        unsafe = await client.get("/things/3", headers={"X-Request-Id": 'no spaces or quotes"'})
        await client.get("/nowhere/7")

    assert given.headers["X-Request-Id"] == "given-id" == given.json()["request_id"]
    assert made.headers["X-Request-Id"] == made.json()["request_id"]
    assert len(made.headers["X-Request-Id"]) == 32
    assert unsafe.headers["X-Request-Id"] != 'no spaces or quotes"'
    assert (
        sample(
            "unimatch_http_requests_total", method="GET", route="/things/{thing_id}", status="200"
        )
        == ok + 3
    )
    assert (
        sample("unimatch_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    )


def test_the_registry_renders_every_series_of_the_services():
    import matching_service.metrics  # noqa: F401
    import notifier_service.metrics  # noqa: F401

    metrics.EVENTS_PUBLISHED.labels("pair.created")
    metrics.EVENTS_FAILED.labels("pair.created")
    metrics.EVENTS_DEAD_LETTERED.labels("pair.created")
    body, content_type = metrics.render()
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert content_type.startswith("text/plain")
    assert {
        "unimatch_http_requests",
        "unimatch_http_request_duration_seconds",
        "unimatch_events_published",
        "unimatch_events_consumed",
        "unimatch_events_failed",
        "unimatch_events_dead_lettered",
        "unimatch_outbox_pending",
        "unimatch_round_users",
        "unimatch_round_groups",
        "unimatch_round_duration_seconds",
        "unimatch_round_last_finished_timestamp_seconds",
        "unimatch_telegram_messages",
        "unimatch_telegram_retry_after",
    } <= names
