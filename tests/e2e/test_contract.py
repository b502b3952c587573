"""docs/api.md (Conventions, Accounts, Profile, Matching), end to end through the gateway."""

import hashlib
import re
from datetime import datetime

import psycopg
import pytest

from tests.e2e.helpers import auth, new_email, register

TOKEN = re.compile(r"[0-9a-f]{40}")


def test_register_returns_user_and_working_token(api):
    email = new_email()
    body = {
        "email": email.upper(),
        "password": "пароль-123",
        "first_name": "Имя",
        "last_name": "Фамилия",
        "age": 25,
        "hobby": [1, 2, 5],
    }
    response = api.post("/users/api/register/", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    assert TOKEN.fullmatch(data["token"])
    user = data["user"]
    assert set(user) >= {
        "id",
        "first_name",
        "last_name",
        "email",
        "age",
        "chat_id",
        "image",
        "hobby",
    }
    assert user["first_name"] == "Имя" and user["last_name"] == "Фамилия"
    assert user["email"] == email.lower()
    assert (user["age"], user["chat_id"], user["image"], user["hobby"]) == (
        25,
        None,
        None,
        [1, 2, 5],
    )
    # Read-your-writes: the token and the hobbies work the instant 201 returns.
    tags = api.get("/users/api/tags/", headers=auth(data["token"]))
    assert tags.status_code == 200
    assert tags.json() == ["Программирование", "Спорт", "Музыка"]


def test_register_defaults(api):
    user = register(api)["user"]
    assert (user["first_name"], user["last_name"], user["age"], user["hobby"]) == ("", "", None, [])


def test_register_email_taken_case_insensitively(api):
    email = new_email()
    register(api, email=email)
    response = api.post("/users/api/register/", json={"email": email.upper(), "password": "x1y2z3"})
    assert response.status_code == 400
    assert response.json() == {"email": ["user with this email already exists."]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"email": ["This field is required."], "password": ["This field is required."]}),
        (
            {"email": "not-an-email", "password": "abc123"},
            {"email": ["Enter a valid email address."]},
        ),
        (
            {"email": "a@example.com", "password": "12345678"},
            {"password": ["This password is entirely numeric."]},
        ),
        (
            {"email": "a@example.com", "password": "ab1"},
            {"password": ["This password is too short. It must contain at least 6 characters."]},
        ),
        (
            {"email": "a@example.com", "password": "abc123", "age": 5},
            {"age": ["Ensure this value is greater than or equal to 14."]},
        ),
        (
            {"email": "a@example.com", "password": "abc123", "age": "old"},
            {"age": ["A valid integer is required."]},
        ),
        (
            {"email": "a@example.com", "password": "abc123", "first_name": "x" * 151},
            {"first_name": ["Ensure this field has no more than 150 characters."]},
        ),
    ],
)
def test_register_validation_errors(api, body, expected):
    response = api.post("/users/api/register/", json=body)
    assert response.status_code == 400
    assert response.json() == expected


def test_register_unknown_hobby_stores_nothing(api):
    email = new_email()
    body = {"email": email, "password": "abc123", "hobby": [1, 99]}
    response = api.post("/users/api/register/", json=body)
    assert response.status_code == 400
    assert response.json() == {"hobby": ['Invalid pk "99" - object does not exist.']}
    login = api.post("/auth/token/login/", json={"email": email, "password": "abc123"})
    assert login.status_code == 400
    # The email is still free.
    assert api.post("/users/api/register/", json={**body, "hobby": [1]}).status_code == 201


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b""])
def test_body_that_is_not_a_json_object(api, raw):
    response = api.post(
        "/users/api/register/", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_oversized_body_is_413(api):
    response = api.post(
        "/users/api/register/",
        content=b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_login_opens_a_new_session_each_time(api):
    email = new_email()
    first = register(api, email=email)["token"]
    response = api.post("/auth/token/login/", json={"email": email, "password": "pa55word"})
    assert response.status_code == 201
    second = response.json()["token"]
    assert TOKEN.fullmatch(second) and second != first
    for token in (first, second):
        assert api.get("/users/api/tags/", headers=auth(token)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nobody@example.com", "password": "pa55word"},
        {"email": "WRONG", "password": "pa55word"},
    ],
)
def test_login_with_bad_credentials(api, body):
    response = api.post("/auth/token/login/", json=body)
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_login_with_wrong_password(api):
    email = new_email()
    register(api, email=email)
    response = api.post("/auth/token/login/", json={"email": email, "password": "wrong-pass"})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_login_requires_fields(api):
    response = api.post("/auth/token/login/", json={})
    assert response.status_code == 400
    assert response.json() == {
        "email": ["This field is required."],
        "password": ["This field is required."],
    }


def test_logout_revokes_only_that_token_everywhere(api):
    email = new_email()
    token = register(api, email=email)["token"]
    other = api.post("/auth/token/login/", json={"email": email, "password": "pa55word"})
    other_token = other.json()["token"]

    response = api.post("/auth/token/logout/", headers=auth(token))
    assert response.status_code == 204
    assert response.content == b""
    for method, path in [
        ("GET", "/users/api/tags/"),
        ("GET", "/users/api/pairs/"),
        ("GET", "/users/api/me/"),
        ("POST", "/auth/token/logout/"),
        ("GET", "/users/api/tg-link/"),
    ]:
        revoked = api.request(method, path, headers=auth(token))
        assert revoked.status_code == 401, path
        assert revoked.json() == {"detail": "Invalid token."}
    assert api.get("/users/api/tags/", headers=auth(other_token)).status_code == 200


@pytest.mark.parametrize("path", ["/users/api/tags/", "/users/api/pairs/", "/users/api/me/"])
def test_authentication_errors(api, path):
    missing = api.get(path)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    for header in ["Token nothex", "Token " + "0" * 40, "Token", "token " + "g" * 40]:
        invalid = api.get(path, headers={"Authorization": header})
        assert invalid.status_code == 401
        assert invalid.json() == {"detail": "Invalid token."}


def test_token_keyword_is_case_insensitive(api):
    token = register(api)["token"]
    for keyword in ("token", "Token", "TOKEN"):
        response = api.get("/users/api/tags/", headers={"Authorization": f"{keyword} {token}"})
        assert response.status_code == 200


def test_forged_identity_header_is_not_a_user(api, stack):
    user_id = register(api)["user"]["id"]
    headers = {"X-User-Id": str(user_id), "X-User-Staff": "true"}
    assert api.get("/users/api/me/", headers=headers).status_code == 401
    # Straight to the service, bypassing the gateway: still no user without a token.
    import httpx

    direct = httpx.get(stack.service_url("profile") + "/users/api/me", headers=headers)
    assert direct.status_code == 401


def test_hobby_catalog_is_public_and_seeded(api):
    response = api.get("/users/api/hobby/all")
    assert response.status_code == 200
    hobbies = response.json()
    assert hobbies[:5] == [
        {"id": 1, "name": "Программирование"},
        {"id": 2, "name": "Спорт"},
        {"id": 3, "name": "Рисование"},
        {"id": 4, "name": "Литература"},
        {"id": 5, "name": "Музыка"},
    ]
    assert [h["id"] for h in hobbies] == sorted(h["id"] for h in hobbies)
    assert len(hobbies) >= 20


def test_days_to_match(api):
    response = api.get("/users/api/days-to-match/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"days_left", "hours_left", "minutes_left", "next_match_at"}
    assert 0 <= data["days_left"] <= 7
    assert 0 <= data["hours_left"] <= 23
    assert 0 <= data["minutes_left"] <= 59
    next_match = datetime.strptime(data["next_match_at"], "%Y-%m-%d %H:%M:%S")
    assert (next_match.weekday(), next_match.hour, next_match.minute) == (0, 10, 0)


def test_new_user_has_no_pairs(api):
    token = register(api)["token"]
    response = api.get("/users/api/pairs/", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    "path",
    [
        "/users/api/hobby/all",
        "/users/api/days-to-match",
        "/users/api/tags",
        "/users/api/pairs",
        "/users/api/me",
    ],
)
def test_both_slash_forms_without_redirect(api, path):
    headers = auth(register(api)["token"])
    for form in (path, path + "/"):
        response = api.get(form, headers=headers)
        assert response.status_code == 200, form


def test_both_slash_forms_for_posts(api):
    email = new_email()
    assert (
        api.post("/users/api/register", json={"email": email, "password": "abc123"}).status_code
        == 201
    )
    login = api.post("/auth/token/login", json={"email": email, "password": "abc123"})
    assert login.status_code == 201
    assert api.post("/auth/token/logout", headers=auth(login.json()["token"])).status_code == 204


def test_me_read_and_edit(api):
    token = register(api, first_name="Анна", hobby=[2])["token"]
    me = api.get("/users/api/me/", headers=auth(token)).json()
    assert me["first_name"] == "Анна" and me["hobby"] == [2] and me["paused"] is False

    response = api.patch(
        "/users/api/me/", headers=auth(token), json={"last_name": "Петрова", "hobby": [4, 3]}
    )
    assert response.status_code == 200
    assert response.json()["last_name"] == "Петрова"
    assert api.get("/users/api/tags/", headers=auth(token)).json() == ["Рисование", "Литература"]

    too_young = api.patch("/users/api/me/", headers=auth(token), json={"age": 3})
    assert too_young.status_code == 400
    assert too_young.json() == {"age": ["Ensure this value is greater than or equal to 14."]}
    unknown = api.patch("/users/api/me/", headers=auth(token), json={"hobby": [1, 777]})
    assert unknown.status_code == 400
    assert unknown.json() == {"hobby": ['Invalid pk "777" - object does not exist.']}
    # Nothing of a refused edit is kept.
    assert api.get("/users/api/me/", headers=auth(token)).json()["hobby"] == [3, 4]


def test_pause_and_resume(api):
    token = register(api)["token"]
    paused = api.post("/users/api/pause/", headers=auth(token), json={"until": "2999-01-01"})
    assert paused.status_code == 200
    assert paused.json()["paused"] is True and paused.json()["paused_until"] == "2999-01-01"
    assert api.get("/users/api/me/", headers=auth(token)).json()["paused"] is True
    assert (
        api.post("/users/api/pause/", headers=auth(token), json={"until": "2000-01-01"}).status_code
        == 400
    )
    assert (
        api.post("/users/api/pause/", headers=auth(token), json={"until": "soon"}).status_code
        == 400
    )
    resumed = api.post("/users/api/resume/", headers=auth(token))
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert api.post("/users/api/pause/", headers=auth(token)).json()["paused_until"] is None


def test_admin_account_is_staff(api, staff):
    # Listing rounds is staff-only, and runs nothing.
    assert api.get("/matching/api/rounds/", headers=staff).status_code == 200
    user = register(api)
    assert api.get("/matching/api/rounds/", headers=auth(user["token"])).status_code == 403


def test_unknown_path_is_json_404(api):
    response = api.get("/users/api/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_tokens_and_passwords_are_stored_only_hashed(api, infra):
    email = new_email()
    token = register(api, email=email)["token"]
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        digests = [
            row[0]
            for row in connection.execute(
                "SELECT t.digest FROM auth.auth_token t JOIN auth.user_account u"
                " ON u.id = t.user_id WHERE u.email = %s",
                (email,),
            )
        ]
        (password_hash,) = connection.execute(
            "SELECT password_hash FROM auth.user_account WHERE email = %s", (email,)
        ).fetchone()
    assert digests == [hashlib.sha256(token.encode()).hexdigest()]
    assert password_hash.startswith("$argon2id$") and "pa55word" not in password_hash
