"""Small helpers the end-to-end tests share."""

import secrets

import httpx
import psycopg

from tests.support.helpers import eventually

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


def wait_until_matching_knows(infra, user_ids, paused_ids=()):
    """Matching learns participants from events; wait until it has these (and their pauses)."""
    with psycopg.connect(infra.database_url, autocommit=True) as connection:

        def knows() -> bool:
            rows = connection.execute(
                "SELECT user_id, paused FROM matching.participant WHERE user_id = ANY(%s)",
                (list(user_ids),),
            ).fetchall()
            known = dict(rows)
            return set(known) == set(user_ids) and all(known[u] for u in paused_ids)

        eventually(knows, "matching learns about the new users", timeout=30, interval=0.2)
