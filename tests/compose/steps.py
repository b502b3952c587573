"""The contract's steps through a compose stack's gateway, as the tests in this folder take
them: each waits out the 503s of a server coming back, and fails on anything else."""

from tests.e2e.helpers import auth, new_email
from tests.support.helpers import eventually

PASSWORD = "pa55word"


def register(api, **fields):
    """Register a new account, waiting out the 503s of a server that is coming back."""
    body = {"email": new_email(), "password": PASSWORD, **fields}

    def attempt():
        response = api.post("/users/api/register/", json=body)
        assert response.status_code in (201, 503), response.text
        return response.status_code == 201 and response.json()

    return eventually(attempt, f"registering {body['email']}", timeout=120, interval=1)


def answered(call):
    """The first answer that is not a 503: a service whose server just came back may say
    "try again" (the contract's 503) until it has reconnected, never anything else."""
    return eventually(
        lambda: (response := call()).status_code != 503 and response,
        "an answer other than 503",
        timeout=60,
        interval=0.5,
    )


def log_in(api, email):
    body = {"email": email, "password": PASSWORD}
    response = answered(lambda: api.post("/auth/token/login/", json=body))
    assert response.status_code == 201, response.text
    return response.json()["token"]


def partners(api, token):
    response = answered(lambda: api.get("/users/api/pairs/", headers=auth(token)))
    assert response.status_code == 200, response.text
    return response.json()


def wait_until_matching_knows(compose, user_ids):
    """Matching learns participants from events; ask its table inside the postgres container."""
    ids = ",".join(str(i) for i in user_ids)

    def knows():
        rows = compose.psql(f"SELECT user_id FROM matching.participant WHERE user_id IN ({ids})")
        return {int(row[0]) for row in rows} == set(user_ids)

    eventually(knows, f"matching learns about users {ids}", timeout=120, interval=1)


def hold_round(api, staff):
    response = answered(lambda: api.post("/matching/api/rounds/", headers=staff))
    assert response.status_code == 201, response.text
    return response.json()
