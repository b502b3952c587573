"""``LeanRead`` answers exactly as an ordinary FastAPI route with the same endpoint would,
401s, 503s and OpenAPI included; it only skips the per-request machinery."""

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from unimatch_shared.auth import CurrentUser
from unimatch_shared.errors import ServiceUnavailable, install_error_handlers
from unimatch_shared.lean import LeanRead, json_response
from unimatch_shared.sessions import Session

LIVE, STAFF, DOWN = "a" * 40, "b" * 40, "c" * 40


class Verifier:
    async def verify(self, token: str) -> Session | None:
        if token == DOWN:
            raise ServiceUnavailable()
        return {
            LIVE: Session(user_id=7, is_staff=False),
            STAFF: Session(user_id=1, is_staff=True),
        }.get(token)


async def whoami(user: CurrentUser, request: Request) -> Response:
    return json_response(
        {"user_id": user.user_id, "staff": user.is_staff, "path": request.url.path}
    )


async def public(request: Request) -> Response:
    return json_response({"asked": request.headers.get("x-question")})


def app_with(route_class) -> FastAPI:
    app = FastAPI()
    app.state.token_verifier = Verifier()
    install_error_handlers(app)
    router = APIRouter(route_class=route_class)
    router.get("/whoami")(whoami)
    router.get("/public")(public)
    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def apps():
    return app_with(LeanRead), app_with(APIRouter().route_class)


async def answers(app: FastAPI, path: str, headers: dict) -> tuple[int, bytes, str | None]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path, headers=headers)
    return response.status_code, response.content, response.headers.get("www-authenticate")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/whoami", {}),
        ("/whoami", {"Authorization": "Bearer " + LIVE}),
        ("/whoami", {"Authorization": "Token not-a-token"}),
        ("/whoami", {"Authorization": "Token " + "d" * 40}),  # well-formed, no session
        ("/whoami", {"Authorization": "Token " + DOWN}),  # the session store is unreachable
        ("/whoami", {"Authorization": "Token " + LIVE}),
        ("/whoami", {"Authorization": "token   " + STAFF + " "}),
        ("/public", {"X-Question": "why"}),
    ],
)
async def test_same_answers_as_an_ordinary_route(apps, path, headers):
    lean, ordinary = apps
    assert await answers(lean, path, headers) == await answers(ordinary, path, headers)


async def test_the_endpoint_gets_the_caller(apps):
    lean, _ = apps
    status, body, _ = await answers(lean, "/whoami", {"Authorization": "Token " + LIVE})
    assert (status, body) == (200, b'{"user_id":7,"staff":false,"path":"/whoami"}')


def test_openapi_is_that_of_an_ordinary_route(apps):
    lean, ordinary = apps
    assert lean.openapi() == ordinary.openapi()


def test_only_simple_gets_can_be_lean():
    router = APIRouter(route_class=LeanRead)

    async def with_query(request: Request, page: int = 1) -> Response: ...

    with pytest.raises(TypeError, match="with_query"):
        router.get("/x")(with_query)
    with pytest.raises(TypeError, match="public"):
        router.post("/y")(public)
