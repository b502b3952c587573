"""The web surface's calls 4–9 (docs/api.md, Web surface) end to end through the gateway, sent
as the web front end sends them, with every field it reads asserted; Bearer checks."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.helpers import auth, wait_until_matching_knows
from tests.e2e.test_web_sessions import (
    UNAUTHORIZED,
    bearer,
    refresh,
    refresh_cookie,
    signing_key,
    web_register,
)
from unimatch_shared.access_tokens import key_id

HOBBY = {1: "Программирование", 2: "Спорт", 3: "Рисование", 4: "Литература", 5: "Музыка"}


def hobbies(*ids: int) -> list[dict]:
    return [{"id": i, "name": HOBBY[i]} for i in ids]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("path", ["/api/auth/users/me/", "/api/auth/users/me"])
def test_me_answers_the_web_user(api, path):
    user, access, _ = web_register(api, hobby=[5, 1, 2])
    response = api.get(path, headers=bearer(access))
    assert response.status_code == 200
    # Additive: no email change pending; no Telegram linked, so the channel is email.
    assert response.json() == {
        **user,
        "hobby": hobbies(1, 2, 5),
        "pending_email": None,
        "channels": ["email"],
    }


def test_patch_me_changes_only_what_is_sent(api):
    user, access, _ = web_register(api)
    body = {"first_name": "Мария", "birth": "1999-12-31", "hobby": [3, 4, 2], "tg_link": "@maria_x"}
    response = api.patch("/api/auth/users/me/", headers=bearer(access), json=body)
    assert response.status_code == 200, response.text
    expected = {
        **user,
        "first_name": "Мария",
        "birth": "1999-12-31",
        "hobby": hobbies(2, 3, 4),
        "tg_link": "@maria_x",
        "pending_email": None,
        "channels": ["email"],
    }
    assert response.json() == expected
    assert api.get("/api/auth/users/me", headers=bearer(access)).json() == expected
    cleared = api.patch("/api/auth/users/me", headers=bearer(access), json={"tg_link": ""})
    assert cleared.json()["tg_link"] == "" and cleared.json()["last_name"] == user["last_name"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"first_name": "Maria2"}, "Имя: только буквы и символы . @ + -"),
        ({"first_name": None}, "Имя: не может быть пустым"),
        ({"birth": "31.12.1999"}, "Дата рождения: нужна дата в формате ГГГГ-ММ-ДД"),
        ({"hobby": [1]}, "Хобби: выберите от 3 до 10 хобби"),
        ({"hobby": list(range(1, 12))}, "Хобби: выберите от 3 до 10 хобби"),
        ({"hobby": [1, 2, 777]}, "Хобби: выбрано хобби, которого нет в списке"),
        ({"tg_link": "@ab"}, None),
        ({"tg_link": "no_at_sign"}, None),
        ({"last_name": "x" * 151}, "Фамилия: не больше 150 символов"),
        ({"channels": ["sms"]}, "Каналы: «sms» — нет такого канала (есть telegram и email)"),
        ({"channels": "email"}, None),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(api, body, message):
    user, access, _ = web_register(api)
    response = api.patch("/api/auth/users/me/", headers=bearer(access), json=body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    if message:
        assert response.json()["error"] == message
    assert (
        api.get("/api/auth/users/me/", headers=bearer(access)).json()["tg_link"] == user["tg_link"]
    )
    assert api.get("/api/auth/users/me/", headers=bearer(access)).json() == {
        **user,
        "hobby": hobbies(1, 2, 5),
        "pending_email": None,
        "channels": ["email"],
    }


def test_patch_me_needs_a_json_object(api):
    _, access, _ = web_register(api)
    response = api.patch(
        "/api/auth/users/me/",
        headers={**bearer(access), "Content-Type": "application/json"},
        content=b"[]",
    )
    assert response.status_code == 400 and set(response.json()) == {"error"}


@pytest.mark.parametrize("path", ["/api/hobby/all/", "/api/hobby/all"])
def test_the_hobby_catalog_is_public(api, path):
    response = api.get(path)
    assert response.status_code == 200
    catalog = response.json()
    assert catalog[:5] == hobbies(1, 2, 3, 4, 5)
    assert [h["id"] for h in catalog] == sorted(h["id"] for h in catalog)
    assert catalog == api.get("/users/api/hobby/all").json()


def test_hobby_total(api):
    _, access, _ = web_register(api, hobby=[4, 2, 3])
    response = api.get("/api/hobby/total/", headers=bearer(access))
    assert response.status_code == 200
    assert response.json() == {
        "user_tags": hobbies(2, 3, 4),
        "all_tags": api.get("/api/hobby/all/").json(),
    }


@pytest.mark.parametrize("logged_in", [True, False])
def test_days_to_match(api, logged_in):
    headers = bearer(web_register(api)[1]) if logged_in else {}
    for path in ("/api/days-to-match/", "/api/days-to-match"):
        response = api.get(path, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"days_left", "hours_left", "minutes_left", "next_match_at"}
        seed = api.get("/users/api/days-to-match/").json()
        assert body["next_match_at"] == seed["next_match_at"]


@pytest.mark.parametrize(
    "call",
    [
        ("GET", "/api/auth/users/me/"),
        ("PATCH", "/api/auth/users/me/"),
        ("GET", "/api/hobby/total/"),
        ("GET", "/api/pairs/"),
    ],
)
def test_bearer_endpoints_answer_401_in_the_web_shape(api, call):
    method, path = call
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Token " + "a" * 40}):
        response = api.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (path, headers)
        assert response.json() == UNAUTHORIZED
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_web_paths_answer_in_the_web_shape(api):
    for path in ("/api/", "/api/nothing/", "/api/hobby/none/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "Не найдено"}
    wrong_method = api.delete("/api/pairs/")
    assert wrong_method.status_code == 405 and set(wrong_method.json()) == {"error"}


def test_401_refresh_retry_cycle_with_an_expired_access_token(api, stack):
    user, _, cookie = web_register(api)
    key = signing_key(stack)
    issued = datetime.now(UTC) - timedelta(hours=1)
    payload = {
        "iss": "unimatch",
        "sub": str(user["id"]),
        "user_id": user["id"],
        "staff": False,
        "iat": issued,
        "exp": issued + timedelta(minutes=5),
    }
    expired = jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key())})
    first = api.get("/api/pairs/", headers=bearer(expired))
    assert first.status_code == 401 and first.json() == UNAUTHORIZED
    renewed = refresh(api, cookie)
    assert renewed.status_code == 200
    retried = api.get("/api/pairs/", headers=bearer(renewed.json()["access"]))
    assert retried.status_code == 200
    assert retried.json() == {"current_pair": None, "pairs": []}
    assert refresh_cookie(renewed) != cookie


def test_tokens_not_signed_by_a_published_key_are_refused(api, stack):
    _, access, _ = web_register(api)
    header = jwt.get_unverified_header(access)
    payload = jwt.decode(access, options={"verify_signature": False})
    stranger = Ed25519PrivateKey.generate()
    public_pem = (
        signing_key(stack)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    encoded_payload = _b64(json.dumps(payload).encode())

    def header_of(alg: str) -> str:
        return _b64(json.dumps({"alg": alg, "kid": header["kid"]}).encode())

    hs_input = f"{header_of('HS256')}.{encoded_payload}"
    hs = _b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())
    none = f"{header_of('none')}.{encoded_payload}."
    forged = {
        "another key, same kid": jwt.encode(payload, stranger, "EdDSA", headers=header),
        "another key": jwt.encode(payload, stranger, "EdDSA"),
        "alg none": none,
        "HS256 with the public key": f"{hs_input}.{hs}",
        "garbage": "abc.def.ghi",
    }
    for name, token in forged.items():
        response = api.get("/api/auth/users/me/", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.json() == UNAUTHORIZED, name
    assert api.get("/api/auth/users/me/", headers=bearer(access)).status_code == 200


def test_a_bearer_token_is_not_a_seed_token(api):
    _, access, _ = web_register(api)
    response = api.get("/users/api/me/", headers=bearer(access))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def _pairs(api, access, rounds_seen):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = api.get("/api/pairs/", headers=bearer(access)).json()
        if body["current_pair"] and len(body["pairs"]) + 1 >= rounds_seen:
            return body
        time.sleep(0.2)
    raise AssertionError(f"no match after {rounds_seen} rounds: {body}")


def test_pairs_show_the_current_match_and_the_earlier_ones(api, infra, staff):
    people = [
        web_register(api, hobby=[1, 2, 3 + i % 3], tg_link=f"@person_{i}_x") for i in range(4)
    ]
    wait_until_matching_knows(infra, [user["id"] for user, _, _ in people])
    assert api.post("/matching/api/rounds/", headers=staff).status_code == 201
    user, access, _ = people[0]
    first = _pairs(api, access, 1)
    current = first["current_pair"]
    assert set(current) == {"id", "partner", "created_at", "feedback"}
    assert current["feedback"] is None
    assert set(current["partner"]) == {"id", "first_name", "last_name", "email", "tg_link", "hobby"}
    assert isinstance(current["partner"]["tg_link"], str)
    assert isinstance(current["partner"]["hobby"], list)
    assert all(set(h) == {"id", "name"} for h in current["partner"]["hobby"])
    datetime.strptime(current["created_at"], "%Y-%m-%d")
    assert current["partner"]["id"] not in {p["partner"]["id"] for p in first["pairs"]}
    assert first["pairs"] == [] or len(first["pairs"]) == 1  # the other partner of a trio

    partner = next((p for p in people if p[0]["id"] == current["partner"]["id"]), None)
    if partner:  # one of ours: what they registered is what is shown
        assert current["partner"]["tg_link"] == partner[0]["tg_link"]
        assert current["partner"]["hobby"] == partner[0]["hobby"]

    assert api.post("/matching/api/rounds/", headers=staff).status_code == 201
    second = _pairs(api, access, 2 + len(first["pairs"]))
    assert second["current_pair"]["id"] != current["id"]
    assert current in second["pairs"]
    seed = api.post("/auth/token/login/", json={"email": user["email"], "password": "secret-1"})
    history = api.get("/users/api/pairs/", headers=auth(seed.json()["token"])).json()
    assert len(history) == 1 + len(second["pairs"])


def test_the_web_surface_is_in_each_services_openapi(api):
    expected = {
        "auth": {"/api/token", "/api/token/refresh", "/api/token/blacklist", "/api/register"},
        "profile": {"/api/auth/users/me", "/api/hobby/all", "/api/hobby/total", "/api/pairs"},
        "matching": {"/api/days-to-match"},
    }
    for service, paths in expected.items():
        document = api.get(f"/openapi/{service}.json").json()
        assert paths <= set(document["paths"]), service
        me = document["paths"].get("/api/auth/users/me", {})
        if me:
            assert me["get"]["security"] == [{"Bearer": []}]
            error = me["get"]["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/WebError"}
