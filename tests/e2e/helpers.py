"""Small helpers the end-to-end tests share."""

import secrets

import httpx

ADMIN_EMAIL = "admin@unimatch.example.com"
ADMIN_PASSWORD = "admin-password-1"


def new_email() -> str:
    return f"user-{secrets.token_hex(5)}@example.com"


def register(api: httpx.Client, **fields) -> dict:
    body = {"email": new_email(), "password": "pa55word", **fields}
    response = api.post("/users/api/register/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}
