"""The table of who says what on NATS (unimatch_shared/access.py) is complete, agrees with what
each service registers, and turns into allow-lists that name nothing of another service's."""

import pytest

from auth_service.main import create_app as auth_app
from matching_service.main import create_app as matching_app
from notifier_service.main import create_app as notifier_app
from profile_service.main import create_app as profile_app
from unimatch_shared.access import (
    EVENT_ROUTES,
    RPC_ROUTES,
    SERVICES,
    answers,
    consumes,
    nats_permissions,
    publishes,
    unrouted,
)

APPS = {
    "auth": auth_app,
    "profile": profile_app,
    "matching": matching_app,
    "notifier": notifier_app,
}


def test_every_event_and_request_has_a_route_between_known_services():
    assert unrouted() == []
    for route in (*EVENT_ROUTES.values(), *RPC_ROUTES.values()):
        assert route.senders and route.receivers
        assert set(route.senders) | set(route.receivers) <= set(SERVICES)
    assert all(len(route.receivers) == 1 for route in RPC_ROUTES.values())


def _subject(endpoint) -> str:
    return endpoint.subject.template


@pytest.mark.parametrize("service", SERVICES)
def test_what_a_service_registers_is_in_the_table(service):
    """A consumer, responder or publisher the table does not list would be refused by
    nats-server under the service's own user: caught here instead."""
    broker = APPS[service]().state.runtime.messaging.broker
    pulled = {_subject(s) for s in broker.subscribers if getattr(s, "stream", None)}
    answered = {_subject(s) for s in broker.subscribers if not getattr(s, "stream", None)}
    emitted = {_subject(p) for p in broker.publishers}
    assert pulled <= {event.SUBJECT for event in consumes(service)}
    assert answered <= {request.SUBJECT for request in answers(service)}
    assert emitted <= {event.SUBJECT for event in publishes(service)}
    assert answered  # the introspection found something to compare


def test_a_service_may_publish_its_own_events_and_answer_its_own_requests_only():
    auth, matching, notifier = (nats_permissions(s, "p.") for s in ("auth", "matching", "notifier"))
    assert "p.user.registered" in auth.publish
    assert "p.user.registered" not in matching.publish
    assert "p.rpc.profile.create" in auth.publish
    assert "p.rpc.profile.create" not in notifier.subscribe
    assert "p.rpc.notifier.telegram-user" in notifier.subscribe
    # Nothing but its own inbox and the requests it answers, never an event subject.
    assert notifier.subscribe[0] == "_INBOX_notifier.>"
    assert not any(s.startswith("p.") and "rpc." not in s for s in notifier.subscribe)
    # The session store is written by auth alone.
    assert "$KV.p_sessions.>" in auth.publish
    assert not any(s.startswith("$KV.") for s in matching.publish + notifier.publish)


def test_no_service_gets_a_wildcard_over_the_jetstream_api_or_the_events():
    for service in SERVICES:
        allowed = nats_permissions(service)
        for subject in allowed.publish + allowed.subscribe:
            assert subject not in (">", "$JS.API.>", "$JS.>", "*.>")
            assert not subject.startswith("$JS.API.STREAM.DELETE")
            assert not subject.startswith("$JS.API.STREAM.PURGE")
