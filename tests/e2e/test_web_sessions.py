"""Web sessions (docs/api.md, Web surface; docs/adr/015), end to end through the gateway: calls
sent as the web front end sends them — JSON with its form-only keys, `Authorization: Bearer`,
the `refresh_token` cookie and nothing else on refresh."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
)

from tests.e2e.helpers import auth, new_email, register

UNAUTHORIZED = {"error": "Необходимо пройти авторизацию"}
GRACE_SECONDS = 2  # UNIMATCH_REFRESH_REUSE_GRACE_SECONDS of the test stack


def sign_up_form(**fields) -> dict:
    """The body the sign-up page posts, form-only keys included."""
    return {
        "email": new_email(),
        "first_name": "Анна",
        "last_name": "Иванова",
        "birth": "2001-02-03",
        "password": "secret-1",
        "confirmPassword": "secret-1",
        "hobby": [1, 2, 5],
        "tg_link": "@anna_ivanova",
        "agreeTermsOfUse": True,
        "agreePrivacy": True,
        "agreePersonalData": True,
        **fields,
    }


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


def refresh(api: httpx.Client, cookie: str) -> httpx.Response:
    """As the front end does it: no body, no Authorization, only the cookie."""
    return api.post("/api/token/refresh/", headers={"Cookie": f"refresh_token={cookie}"})


def refresh_cookie(response: httpx.Response) -> str:
    return response.cookies["refresh_token"]


def web_register(api: httpx.Client, **fields) -> tuple[dict, str, str]:
    response = api.post("/api/register/", json=sign_up_form(**fields))
    assert response.status_code == 201, response.text
    return response.json()["user"], response.json()["access"], refresh_cookie(response)


def signing_key(stack) -> Ed25519PrivateKey:
    var_dir = Path(stack.processes["auth"].env["UNIMATCH_VAR_DIR"])
    return load_pem_private_key((var_dir / "jwt" / "signing-key.pem").read_bytes(), None)


def claims(stack, access: str) -> dict:
    """The access token's claims, checked with auth's public key."""
    return jwt.decode(access, signing_key(stack).public_key(), algorithms=["EdDSA"])


def test_sign_up_answers_the_web_user_an_access_token_and_the_refresh_cookie(api, stack):
    form = sign_up_form()
    response = api.post("/api/register/", json=form)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "access"}
    assert body["user"] == {
        "id": body["user"]["id"],
        "first_name": "Анна",
        "last_name": "Иванова",
        "email": form["email"],
        "birth": "2001-02-03",
        "chat_id": None,
        "image": None,
        "hobby": [
            {"id": 1, "name": "Программирование"},
            {"id": 2, "name": "Спорт"},
            {"id": 5, "name": "Музыка"},
        ],
        "tg_link": "@anna_ivanova",
    }
    assert jwt.get_unverified_header(body["access"])["alg"] == "EdDSA"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("refresh_token=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "Path=/api/token" in cookie and "SameSite=lax" in cookie
    assert "secure" not in attributes  # plain-HTTP localhost; Secure everywhere else
    assert claims(stack, body["access"])["user_id"] == body["user"]["id"]


def test_the_refresh_cookie_is_secure_on_any_other_site(api):
    response = api.post(
        "/api/register/", json=sign_up_form(), headers={"Host": "unimatch.example.org"}
    )
    assert response.status_code == 201, response.text
    assert "secure" in response.headers["set-cookie"].lower()


def test_login_answers_an_access_token_and_a_cookie(api, stack):
    form = sign_up_form()
    user, _, _ = web_register(api, **form)
    response = api.post("/api/token/", json={"email": form["email"], "password": "secret-1"})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access"}
    assert refresh_cookie(response)
    assert claims(stack, response.json()["access"])["user_id"] == user["id"]


@pytest.mark.parametrize("password", ["wrong-pass-1", ""])
def test_bad_credentials(api, password):
    form = sign_up_form()
    web_register(api, **form)
    response = api.post("/api/token/", json={"email": form["email"], "password": password})
    assert response.status_code == 400
    assert response.json() == {"error": "Неверный email или пароль"}
    assert "set-cookie" not in response.headers


def test_refresh_rotates_the_cookie_and_answers_a_fresh_access_token(api, stack):
    user, _, cookie = web_register(api)
    response = refresh(api, cookie)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access"}
    assert claims(stack, response.json()["access"])["user_id"] == user["id"]
    rotated = refresh_cookie(response)
    assert rotated != cookie
    assert refresh(api, rotated).status_code == 200


def test_three_concurrent_refreshes_with_one_cookie_all_succeed_with_the_same_successor(api, stack):
    user, _, cookie = web_register(api)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: refresh(api, cookie), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert len({refresh_cookie(a) for a in answers}) == 1
    for answer in answers:
        assert claims(stack, answer.json()["access"])["user_id"] == user["id"]
    assert refresh(api, refresh_cookie(answers[0])).status_code == 200


def test_a_spent_token_used_after_the_grace_revokes_its_whole_session(api):
    _, access, cookie = web_register(api)
    current = refresh_cookie(refresh(api, cookie))
    assert refresh(api, cookie).status_code == 200  # within the grace: the same answer
    time.sleep(GRACE_SECONDS + 0.5)
    reused = refresh(api, cookie)
    assert reused.status_code == 401 and reused.json() == UNAUTHORIZED
    assert refresh(api, current).status_code == 401  # the thief's and the owner's alike


@pytest.mark.parametrize("cookie", [None, "", "x" * 64, "0" * 64, "not-a-token"])
def test_refresh_without_a_valid_cookie_is_401(api, cookie):
    headers = {} if cookie is None else {"Cookie": f"refresh_token={cookie}"}
    response = api.post("/api/token/refresh/", headers=headers)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


@pytest.mark.parametrize("how", ["body", "cookie"])
def test_logout_ends_the_session(api, how):
    _, _, cookie = web_register(api)
    if how == "body":
        response = api.post("/api/token/blacklist/", json={"refresh": cookie})
    else:
        response = api.post("/api/token/blacklist/", headers={"Cookie": f"refresh_token={cookie}"})
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert refresh(api, cookie).status_code == 401


def test_logout_without_a_token_or_with_an_unknown_one(api):
    response = api.post("/api/token/blacklist/")
    assert response.status_code == 400 and set(response.json()) == {"error"}
    response = api.post("/api/token/blacklist/", json={"refresh": "1" * 64})
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_an_account_works_on_both_surfaces_with_independent_sessions(api, stack):
    seed_email = new_email()
    seed_user = register(api, email=seed_email, password="pa55word", hobby=[1, 2, 3])["user"]
    web = api.post("/api/token/", json={"email": seed_email, "password": "pa55word"})
    assert web.status_code == 200, web.text
    assert claims(stack, web.json()["access"])["user_id"] == seed_user["id"]

    form = sign_up_form()
    web_register(api, **form)
    seed = api.post("/auth/token/login/", json={"email": form["email"], "password": "secret-1"})
    assert seed.status_code == 201, seed.text
    token = seed.json()["token"]
    seed_me = api.get("/users/api/me/", headers=auth(token)).json()
    assert (seed_me["birth"], seed_me["tg_link"]) == ("2001-02-03", "@anna_ivanova")
    # A Bearer token is not a seed token, nor the other way round.
    assert api.get("/users/api/me/", headers=bearer(web.json()["access"])).status_code == 401
    # Ending the web session leaves the seed token working, and the other way round.
    login = api.post("/api/token/", json={"email": form["email"], "password": "secret-1"})
    assert api.post("/api/token/blacklist/", json={"refresh": refresh_cookie(login)}).json() == {}
    assert api.get("/users/api/me/", headers=auth(token)).status_code == 200
    assert api.post("/auth/token/logout/", headers=auth(token)).status_code == 204
    assert (
        refresh(
            api,
            refresh_cookie(
                api.post("/api/token/", json={"email": form["email"], "password": "secret-1"})
            ),
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-email"}, "Email: некорректный адрес"),
        ({"password": "12345678"}, "Пароль: не может состоять только из цифр"),
        ({"password": "пароль-рус"}, "Пароль: должен содержать латинскую букву"),
        ({"password": "ab1"}, "Пароль: не короче 6 символов"),
        ({"first_name": "Anna1"}, "Имя: только буквы и символы . @ + -"),
        ({"last_name": None}, "Фамилия: не может быть пустым"),
        ({"birth": "03.02.2001"}, "Дата рождения: нужна дата в формате ГГГГ-ММ-ДД"),
        ({"hobby": [1, 2]}, "Хобби: выберите от 3 до 10 хобби"),
        ({"hobby": [1, 2, 999]}, "Хобби: выбрано хобби, которого нет в списке"),
        ({"hobby": "1,2,3"}, "Хобби: нужен список"),
        ({"tg_link": "anna"}, None),
        ({"email": None}, "Email: не может быть пустым"),
    ],
)
def test_bad_sign_ups_are_refused_and_store_nothing(api, infra, change, message):
    form = sign_up_form(**change)
    response = api.post("/api/register/", json=form)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    if message:
        assert response.json()["error"] == message
    if isinstance(form["email"], str) and "@" in form["email"]:
        with psycopg.connect(infra.database_url, autocommit=True) as connection:
            stored = connection.execute(
                "SELECT count(*) FROM auth.user_account WHERE email = %s", (form["email"],)
            ).fetchone()[0]
        assert stored == 0


def test_a_taken_email_and_bodies_that_are_not_json_objects(api):
    form = sign_up_form()
    web_register(api, **form)
    again = api.post("/api/register/", json=sign_up_form(email=form["email"].upper()))
    assert again.status_code == 400
    assert again.json() == {"error": "Пользователь с таким email уже существует"}
    for path in ("/api/register/", "/api/token/", "/api/token/blacklist/"):
        for body in (b"[1]", b"{", b'"x"'):
            response = api.post(path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (path, body, response.text)
            assert set(response.json()) == {"error"}
