"""The mixed API workload `make bench-api` drives through the gateway (benchmarks/bench_api.py).

Each simulated client is one of the users bench_api registered (BENCH_API_USERS names their
JSON file) and loops without pause over: log in (one Argon2id verification each), its match
history, its tags, the hobby catalog, and the time to the next round.
"""

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

USERS = json.loads(Path(os.environ["BENCH_API_USERS"]).read_text())


class Student(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.account = random.choice(USERS)
        self.headers = {"Authorization": f"Token {self.account['token']}"}

    @task(1)
    def log_in(self) -> None:
        body = {"email": self.account["email"], "password": self.account["password"]}
        self.client.post("/auth/token/login/", json=body, name="POST login")

    @task(4)
    def pairs(self) -> None:
        self.client.get("/users/api/pairs/", headers=self.headers, name="GET pairs")

    @task(4)
    def tags(self) -> None:
        self.client.get("/users/api/tags/", headers=self.headers, name="GET tags")

    @task(4)
    def hobbies(self) -> None:
        self.client.get("/users/api/hobby/all", name="GET hobby/all")

    @task(4)
    def days_to_match(self) -> None:
        self.client.get("/users/api/days-to-match/", name="GET days-to-match")
