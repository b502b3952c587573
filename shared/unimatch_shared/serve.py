"""Runs a service's app with uvicorn; each service's ``__main__`` calls this."""

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from unimatch_shared.settings import ServiceSettings


def serve(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # RequestContext writes the access log, with route and duration
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
