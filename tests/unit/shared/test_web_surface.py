"""The web surface's plumbing without a server: Bearer callers on ordinary and lean routes
alike, and every error under /api in the ``{"error": ...}`` shape (docs/api.md, Web
surface)."""

from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel

from unimatch_shared.access_tokens import AccessClaims, sign, verify
from unimatch_shared.errors import install_error_handlers
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.web import WebUser

KEY = Ed25519PrivateKey.generate()
UNAUTHORIZED = {"error": "Необходимо пройти авторизацию"}


class Keys:
    """Stands in for PublicKeys: only KEY is published."""

    async def verify(self, token: str) -> AccessClaims:
        return verify(token, KEY.public_key())


class Body(BaseModel):
    name: str


async def whoami(user: WebUser, request: Request) -> Response:
    return json_response({"user_id": user.user_id})


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.access_keys = Keys()
    install_error_handlers(app)
    lean = APIRouter(route_class=LeanRead)
    lean.get("/api/lean")(whoami)
    plain = APIRouter()
    plain.get("/api/plain")(whoami)

    @plain.post("/api/body")
    async def body(payload: Body, user: WebUser) -> dict:
        return {"name": payload.name}

    @plain.post("/seed/body")
    async def seed_body(payload: Body) -> dict:
        return {"name": payload.name}

    app.include_router(lean)
    app.include_router(plain)
    return app


async def call(method: str, path: str, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


def bearer(user_id: int = 7) -> dict[str, str]:
    token = sign(KEY, AccessClaims(user_id=user_id, is_staff=False), timedelta(minutes=5))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/api/lean", "/api/plain"])
async def test_lean_and_plain_routes_know_the_bearer_caller(path):
    response = await call("GET", path, headers=bearer())
    assert response.status_code == 200 and response.json() == {"user_id": 7}


@pytest.mark.parametrize("path", ["/api/lean", "/api/plain"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Token " + "a" * 40},
        {"Authorization": "Bearer not.a.jwt"},
        {
            "Authorization": "Bearer "
            + sign(Ed25519PrivateKey.generate(), AccessClaims(7, False), timedelta(minutes=5))
        },
    ],
)
async def test_refusals_are_401_in_the_web_shape(path, headers):
    response = await call("GET", path, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


async def test_validation_errors_name_the_field_in_russian():
    missing = await call("POST", "/api/body", headers=bearer(), json={})
    assert missing.status_code == 400 and missing.json() == {"error": "name: обязательное поле"}
    not_object = await call("POST", "/api/body", headers=bearer(), json=[1])
    assert not_object.json() == {"error": "Тело запроса должно быть JSON-объектом"}
    seed = await call("POST", "/seed/body", json={})
    assert seed.json() == {"name": ["This field is required."]}


async def test_unknown_paths_and_methods_in_each_surfaces_shape():
    assert (await call("GET", "/api/nothing")).json() == {"error": "Не найдено"}
    assert (await call("DELETE", "/api/plain")).json() == {"error": "Метод не поддерживается"}
    assert (await call("GET", "/seed/nothing")).json() == {"detail": "Not found."}
