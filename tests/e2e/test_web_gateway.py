"""The gateway's part of the web surface (docs/api.md, Web surface): CORS for the origins in
UNIMATCH_CORS_ORIGINS, and the built front end of UNIMATCH_WEB_DIST served at `/`. A second
gateway, configured for the web front end, runs in front of the session's services; the
session's own gateway shows the defaults."""

import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_web_sessions import bearer, sign_up_form
from unimatch_stack.infra import free_ports
from unimatch_stack.supervisor import SERVICES, gateway_process

ALLOWED = "https://app.example.org"
ALSO_ALLOWED = "http://localhost:5173"
INDEX = '<!doctype html><div id="root"></div><script src="/assets/index-4f2a9c.js"></script>'
SCRIPT = "console.log('UniMatch');"


@pytest.fixture(scope="module")
def web_gateway(stack):
    var_dir = Path(tempfile.mkdtemp(prefix="unimatch-web-gateway-"))
    dist = var_dir / "dist"  # a small stand-in for the front end's `vite build`
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-4f2a9c.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg/>")
    ports = {spec.name: stack.processes[spec.name].port for spec in SERVICES}
    (port,) = free_ports(1)
    env = {"UNIMATCH_CORS_ORIGINS": f"{ALLOWED}, {ALSO_ALLOWED}", "UNIMATCH_WEB_DIST": str(dist)}
    gateway = gateway_process(var_dir, port, ports, env=env)
    gateway.start()
    try:
        gateway.wait_ready(time.monotonic() + 30)
        with httpx.Client(base_url=f"http://localhost:{port}", timeout=30) as client:
            yield client
    finally:
        gateway.stop()


def preflight(client: httpx.Client, origin: str, path: str = "/api/token/refresh/"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize("origin", [ALLOWED, ALSO_ALLOWED])
def test_a_listed_origin_gets_its_preflight_answered_at_the_gateway(web_gateway, origin):
    for path in ("/api/token/refresh/", "/api/auth/users/me/", "/api/pairs"):
        response = preflight(web_gateway, origin, path)
        assert response.status_code == 204, path
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "PATCH" in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example.org", "https://app.example.org.evil", "null", ALLOWED + " x"]
)
def test_any_other_origin_is_refused(web_gateway, origin):
    response = preflight(web_gateway, origin)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    actual = web_gateway.get("/api/hobby/all/", headers={"Origin": origin})
    assert actual.status_code == 200
    assert "access-control-allow-origin" not in actual.headers
    assert "Origin" in actual.headers["vary"]


def test_a_credentialed_cross_origin_session(web_gateway):
    """What the front end on another origin does: sign up, read with Bearer, refresh with the
    cookie — each answer carrying the grant for its origin."""
    headers = {"Origin": ALLOWED}
    signed_up = web_gateway.post("/api/register/", json=sign_up_form(), headers=headers)
    assert signed_up.status_code == 201, signed_up.text
    for response in (
        signed_up,
        web_gateway.get(
            "/api/auth/users/me/", headers={**headers, **bearer(signed_up.json()["access"])}
        ),
        web_gateway.post(
            "/api/token/refresh/",
            headers={**headers, "Cookie": f"refresh_token={signed_up.cookies['refresh_token']}"},
        ),
        web_gateway.get("/api/nothing/", headers=headers),
    ):
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-allow-credentials"] == "true"
    assert signed_up.status_code == 201


def test_nothing_is_allowed_by_default(api):
    response = preflight(api, ALLOWED)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert (
        "access-control-allow-origin"
        not in api.get("/api/hobby/all/", headers={"Origin": ALLOWED}).headers
    )


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/about",
        "/login",
        "/login/forgot_password",
        "/register",
        "/matches",
        "/settings",
        "/password-reset/MTI/c4x-0a1b2c3d4e5f",
    ],
)
def test_the_front_ends_routes_answer_its_index_html(web_gateway, path):
    response = web_gateway.get(path)
    assert response.status_code == 200, path
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


def test_its_files_are_served_with_sensible_caching(web_gateway):
    script = web_gateway.get("/assets/index-4f2a9c.js")
    assert script.status_code == 200 and script.text == SCRIPT
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = web_gateway.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"
    assert icon.headers.get("etag") or icon.headers.get("last-modified")
    missing = web_gateway.get("/assets/gone-123.js")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


def test_api_paths_keep_priority_over_the_front_end(web_gateway):
    assert web_gateway.get("/api/hobby/all/").json()[0] == {"id": 1, "name": "Программирование"}
    assert web_gateway.get("/users/api/hobby/all").headers["content-type"] == "application/json"
    unknown = web_gateway.get("/api/matches")
    assert unknown.status_code == 404 and unknown.json() == {"error": "Не найдено"}
    assert web_gateway.get("/auth/nothing").status_code == 404
    assert web_gateway.get("/auth/nothing").json() == {"detail": "Not found."}
    assert "swagger" in web_gateway.get("/docs").text.lower()


def test_without_a_front_end_the_root_stays_the_json_404(api):
    for path in ("/", "/matches", "/index.html"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_the_email_confirmation_page_is_ours_even_with_a_front_end(web_gateway):
    """The front end has no page for a mailed email-change link; the gateway serves one."""
    page = web_gateway.get("/confirm-email/c4x-0a1b2c3d4e5f")
    assert page.status_code == 200
    assert "/users/api/email-change/confirm/" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_without_a_front_end_the_mailed_links_open_the_gateways_pages(api):
    """What a `make run` user without the web app sees when following a mailed link."""
    reset = api.get("/password-reset/MTI/c4x-0a1b2c3d4e5f")
    assert reset.status_code == 200
    assert reset.headers["content-type"].startswith("text/html")
    assert "/users/api/password-reset/confirm/" in reset.text
    confirm = api.get("/confirm-email/c4x-0a1b2c3d4e5f")
    assert confirm.status_code == 200
    assert "/users/api/email-change/confirm/" in confirm.text
