"""The translation of FastAPI/pydantic validation errors into the API's DRF shape
(docs/api.md, Errors)."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from unimatch_shared.errors import ServiceUnavailable, install_error_handlers
from unimatch_shared.fields import Text
from unimatch_shared.http import BodySizeLimit, TrailingSlashInsensitive

JSON = {"Content-Type": "application/json"}


class Body(BaseModel):
    name: str = Field(max_length=5)
    age: int | None = Field(default=None, ge=14)
    tags: list[int] = Field(default=[], max_length=3)
    note: Text = ""


@pytest.fixture(scope="module")
async def client():
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=1000)
    app.add_middleware(TrailingSlashInsensitive)

    @app.post("/things")
    async def create(body: Body) -> dict:
        return body.model_dump()

    @app.get("/down")
    async def down() -> dict:
        raise ServiceUnavailable()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as test_client:
        yield test_client


async def test_missing_and_invalid_fields(client):
    response = await client.post("/things", json={"age": 3, "tags": ["x"]})
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "age": ["Ensure this value is greater than or equal to 14."],
        "tags": ["A valid integer is required."],
    }


async def test_null_and_too_long(client):
    response = await client.post("/things", json={"name": None})
    assert response.json() == {"name": ["This field may not be null."]}
    response = await client.post("/things", json={"name": "abcdefgh"})
    assert response.json() == {"name": ["Ensure this field has no more than 5 characters."]}


async def test_too_many_items_in_drf_wording(client):
    response = await client.post("/things", json={"name": "ok", "tags": [1, 2, 3, 4]})
    assert response.status_code == 400
    assert response.json() == {"tags": ["Ensure this field has no more than 3 elements."]}


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("a\\u0000b", "Null characters are not allowed."),
        ("\\ud800", "Surrogate characters are not allowed: U+D800."),
    ],
)
async def test_text_refuses_what_postgresql_and_utf8_cannot_hold(client, note, message):
    raw = '{"name": "a", "note": "' + note + '"}'  # raw JSON escapes: json= cannot send them
    response = await client.post("/things", content=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"note": [message]}


@pytest.mark.parametrize("raw", [b"{", b"[]", b"12", b"", b"\xff\xfe"])
async def test_not_a_json_object(client, raw):
    response = await client.post("/things", content=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


async def test_trailing_slash_without_redirect(client):
    for path in ("/things", "/things/"):
        response = await client.post(path, json={"name": "ok"}, follow_redirects=False)
        assert response.status_code == 200


async def test_oversized_bodies(client):
    plain = {"Content-Type": "text/plain"}
    declared = await client.post("/things", content=b"x" * 2000, headers=plain)
    assert declared.status_code == 413
    assert declared.json() == {"detail": "Request body is too large."}


async def test_oversized_streamed_bodies(client):
    """No Content-Length (chunked, as a client reaching a service around the gateway may
    send): still 413 in the contract's shape, once the limit is passed."""

    async def chunks():
        for _ in range(20):
            yield b'{"name": "' + b"x" * 100

    streamed = await client.post("/things", content=chunks(), headers=JSON)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert streamed.json() == {"detail": "Request body is too large."}


async def test_errors_in_contract_shape(client):
    assert (await client.get("/nowhere")).json() == {"detail": "Not found."}
    assert (await client.delete("/things")).json() == {"detail": "Method not allowed."}
    down = await client.get("/down")
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
