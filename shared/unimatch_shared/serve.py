"""Runs a service with uvicorn; each service's ``__main__`` calls this.

``settings.workers`` processes share the port (docs/adr/011-worker-processes.md); each builds
its own app from the factory, with its own database pool and NATS connection. uvloop and
httptools replace asyncio's default loop and h11: on this workload they are what lets a
keep-alive connection be answered without a stall.
"""

import os
import shutil
import tempfile

import uvicorn

from unimatch_shared.settings import METRICS_DIR_ENV, ServiceSettings


def serve(app_factory: str, settings: ServiceSettings) -> None:
    """``app_factory`` is the import path of ``create_app``, e.g. ``auth_service.main:create_app``
    (workers import it themselves)."""
    # Before the workers start, so they inherit it; never lowered (that needs privilege).
    niceness = max(os.getpriority(os.PRIO_PROCESS, 0), settings.cpu_niceness)
    os.setpriority(os.PRIO_PROCESS, 0, niceness)
    workers = settings.workers
    if workers > 1:
        made_dir = _prepare_metrics_dir()
    else:  # one process: the library's ordinary in-memory mode
        os.environ.pop(METRICS_DIR_ENV, None)
        made_dir = None
    try:
        uvicorn.run(
            app_factory,
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            log_config=None,
            access_log=False,  # RequestContext writes the access log, with route and duration
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)


def _prepare_metrics_dir() -> str | None:
    """Where the workers' Prometheus samples meet (prometheus_client's multiprocess mode):
    the operator's ``PROMETHEUS_MULTIPROC_DIR`` emptied (``make run`` gives one under var/),
    else a temporary one, returned to be removed at exit. Set before the workers start: the
    client library reads it at import time."""
    given = os.environ.get(METRICS_DIR_ENV)
    if given:
        shutil.rmtree(given, ignore_errors=True)
        os.makedirs(given)
        return None
    path = tempfile.mkdtemp(prefix="unimatch-metrics-")
    os.environ[METRICS_DIR_ENV] = path
    return path
