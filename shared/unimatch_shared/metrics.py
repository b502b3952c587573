"""The Prometheus series every service exposes on ``/metrics``; service-specific ones live in
that service's ``metrics.py``. README.md (Operations) says what each means and when to worry.

Series live in prometheus_client's default registry; Prometheus adds the ``job``/``instance``
labels that tell services apart. A service running several worker processes (serve.py) runs
the library in multiprocess mode: each worker writes its samples to files in one directory
and a scrape, answered by any worker, adds them up. Gauges there say how to combine workers.
"""

import os

from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from unimatch_shared.settings import METRICS_DIR_ENV

HTTP_REQUESTS = Counter(
    "unimatch_http_requests",
    "HTTP requests answered, by route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "unimatch_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_PUBLISHED = Counter(
    "unimatch_events_published",
    "Events the outbox relay published to JetStream (acknowledged by the stream).",
    ["subject"],
)
EVENTS_CONSUMED = Counter(
    "unimatch_events_consumed",
    "Events a consumer handled successfully (acknowledged), redeliveries included.",
    ["subject"],
)
EVENTS_FAILED = Counter(
    "unimatch_events_failed",
    "Event deliveries whose handler failed and which will be retried.",
    ["subject"],
)
EVENTS_DEAD_LETTERED = Counter(
    "unimatch_events_dead_lettered",
    "Events given up on and parked on the dead-letter stream.",
    ["subject"],
)
OUTBOX_PENDING = Gauge(
    "unimatch_outbox_pending",
    "Outbox rows not yet published, counted when /metrics is scraped.",
    multiprocess_mode="mostrecent",
)

# FastStream's gauge of messages being handled, registered here first so the middleware
# reuses it: summed over live workers, not one series per process id, dead ones included.
BROKER_MESSAGES_IN_PROCESS = Gauge(
    "faststream_received_messages_in_process",
    "Gauge of received messages in process by broker and handler",
    ["app_name", "broker", "handler"],
    multiprocess_mode="livesum",
)


def broker_metrics(app_name: str) -> NatsPrometheusMiddleware:
    """FastStream's own series (``faststream_received_messages_total``,
    ``faststream_published_messages_total`` ...) for every subscriber and publisher of a
    broker, request-reply handlers included, which the event series above do not see. In the
    default registry, so the multiprocess mode above covers them too."""
    return NatsPrometheusMiddleware(registry=REGISTRY, app_name=app_name)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, every worker's samples combined."""
    if os.environ.get(METRICS_DIR_ENV):
        registry = CollectorRegistry()
        # prometheus_client leaves this constructor unannotated.
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
