"""What the speed work (docs/adr/010–012) must not break: every service runs several worker
processes here (tests/support/system.py), tokens are checked against the shared session
store, the hobby catalog is served from memory, and hashes are upgraded on login."""

import re

import httpx
import psycopg
from argon2 import PasswordHasher

from tests.e2e.helpers import auth, new_email, register

# One authenticated endpoint of each service (matching's answers 403 to a live non-staff
# token, 401 to a dead one).
EVERY_SERVICE = [
    ("POST", "/auth/token/logout/"),
    ("GET", "/users/api/me/"),
    ("POST", "/matching/api/rounds/"),
    ("GET", "/users/api/tg-link/"),
]


def test_logout_takes_effect_on_the_very_next_request_to_every_worker(api):
    email = new_email()
    register(api, email=email)
    for _ in range(10):  # each round reaches whichever workers answer
        login = api.post("/auth/token/login/", json={"email": email, "password": "pa55word"})
        token = login.json()["token"]
        live = [api.request(m, p, headers=auth(token)).status_code for m, p in EVERY_SERVICE[1:]]
        assert live == [200, 403, 200]

        assert api.post("/auth/token/logout/", headers=auth(token)).status_code == 204
        for method, path in EVERY_SERVICE:
            revoked = api.request(method, path, headers=auth(token))
            assert revoked.status_code == 401, path
            assert revoked.json() == {"detail": "Invalid token."}


def test_metrics_add_up_every_workers_requests(api, stack):
    """Whichever worker answers the scrape reports the requests of all of them."""
    for _ in range(30):
        assert api.get("/users/api/days-to-match/").status_code == 200

    def served() -> float:
        text = httpx.get(f"{stack.service_url('matching')}/metrics", timeout=10).text
        route = 'route="/users/api/days-to-match"'
        pattern = r"unimatch_http_requests_total\{[^}]*" + route + r"[^}]*\} (\S+)"
        return sum(float(value) for value in re.findall(pattern, text))

    assert all(served() >= 30 for _ in range(6))


def test_hobby_catalog_is_cacheable(api):
    first = api.get("/users/api/hobby/all")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["Cache-Control"] == "public, max-age=300"

    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = api.get("/users/api/hobby/all/", headers={"If-None-Match": validator})
        assert again.status_code == 304, validator
        assert again.content == b""
        assert again.headers["ETag"] == etag
    changed = api.get("/users/api/hobby/all", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200
    assert changed.json() == first.json()


def test_a_hash_with_old_parameters_is_replaced_at_the_next_login(api, infra):
    email = new_email()
    register(api, email=email, password="old-params-1")
    old_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("old-params-1")
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE auth.user_account SET password_hash = %s WHERE email = %s", (old_hash, email)
        )
        wrong = api.post("/auth/token/login/", json={"email": email, "password": "wrong-1"})
        assert wrong.status_code == 400
        (kept,) = connection.execute(
            "SELECT password_hash FROM auth.user_account WHERE email = %s", (email,)
        ).fetchone()
        assert kept == old_hash

        login = api.post("/auth/token/login/", json={"email": email, "password": "old-params-1"})
        assert login.status_code == 201
        (upgraded,) = connection.execute(
            "SELECT password_hash FROM auth.user_account WHERE email = %s", (email,)
        ).fetchone()
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    again = api.post("/auth/token/login/", json={"email": email, "password": "old-params-1"})
    assert again.status_code == 201


def niceness(pid: int) -> int:
    """Field 19 of /proc/<pid>/stat (after the parenthesised command name)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def process_tree(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [pid, *(p for child in children.read().split() for p in process_tree(int(child)))]


def test_auth_yields_the_cpu_to_the_read_path(stack):
    """Auth and all its workers run at nice 5 (docs/adr/012); the others at the default."""
    nice = {
        name: {niceness(pid) for pid in process_tree(stack.processes[name].proc.pid)}
        for name in ("auth", "profile", "matching")
    }
    assert nice == {"auth": {5}, "profile": {0}, "matching": {0}}
    assert len(process_tree(stack.processes["auth"].proc.pid)) >= 3  # the workers, too
