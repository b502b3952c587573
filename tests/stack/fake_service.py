"""A stand-in for a UniMatch service: `python fake_service.py <name>`.

Serves /healthz, /readyz and /openapi.json like the real services, and answers every other
request by echoing who it is and what it received, so tests can check gateway routing and the
environment the supervisor passes. ``?sleep=<seconds>`` makes it wait that long before
answering (a request in flight when the test kills the instance).
"""

import asyncio
import json
import os
import sys
from urllib.parse import parse_qs

import uvicorn

NAME = sys.argv[1]
ECHOED_ENV = ("DATABASE_URL", "NATS_URL", "PORT", "UNIMATCH_EVENT_PREFIX")


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    sleep = parse_qs(scope["query_string"].decode()).get("sleep")
    if sleep:
        await asyncio.sleep(float(sleep[0]))
    if scope["path"] == "/openapi.json":
        payload = {"openapi": "3.1.0", "info": {"title": NAME, "version": "0"}, "paths": {}}
    else:
        payload = {
            "service": NAME,
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            "body_length": len(body),
            "env": {key: os.environ.get(key) for key in ECHOED_ENV},
        }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("UNIMATCH_HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        log_level="warning",
    )
