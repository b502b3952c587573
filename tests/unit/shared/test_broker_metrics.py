"""FastStream's Prometheus middleware (metrics.broker_metrics) on every service's broker:
consumed and published messages counted, the workers' samples added up in multiprocess mode."""

import os
import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from unimatch_shared.settings import METRICS_DIR_ENV

# One worker process: a broker with the middleware consumes one message (FastStream's test
# client, no NATS server), then prints the scrape every worker would answer.
WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from faststream.nats import NatsBroker, TestNatsBroker
    from unimatch_shared import metrics

    broker = NatsBroker()
    broker.add_middleware(metrics.broker_metrics("unimatch-test"))

    @broker.subscriber("test.subject")
    async def handle(body: str) -> None:
        pass

    async def consume_one() -> None:
        async with TestNatsBroker(broker) as client:
            await client.publish("hello", "test.subject")

    asyncio.run(consume_one())
    sys.stdout.write(metrics.render()[0].decode())
    """
)


def run_worker(metrics_dir: str | None) -> dict[tuple[str, frozenset], float]:
    env = {k: v for k, v in os.environ.items() if k != METRICS_DIR_ENV}
    if metrics_dir:
        env[METRICS_DIR_ENV] = metrics_dir
    scrape = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, check=True
    ).stdout
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
    }


HANDLER = {"app_name": "unimatch-test", "broker": "nats", "handler": "test.subject"}


def received(series) -> float:
    return series.get(("faststream_received_messages_total", frozenset(HANDLER.items())), 0.0)


def acked(series) -> float:
    labels = frozenset({**HANDLER, "status": "acked"}.items())
    return series.get(("faststream_received_processed_messages_total", labels), 0.0)


def test_a_consumed_message_is_counted():
    series = run_worker(None)
    assert received(series) == 1
    assert acked(series) == 1
    published = {"app_name": "unimatch-test", "broker": "nats", "destination": "test.subject"}
    labels = frozenset({**published, "status": "success"}.items())
    assert series[("faststream_published_messages_total", labels)] == 1


def test_workers_counts_add_up_in_multiprocess_mode(tmp_path):
    run_worker(str(tmp_path))
    series = run_worker(str(tmp_path))  # the second worker's scrape sees the first's too
    assert received(series) == 2
    assert acked(series) == 2
    in_process = ("faststream_received_messages_in_process", frozenset(HANDLER.items()))
    assert series[in_process] == 0  # summed over live workers: no series per dead one
