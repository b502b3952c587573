"""Schemathesis against each service's OpenAPI document, through the gateway (`make fuzz`).

Every generated request, valid or not, must get an answer the document declares: never a 5xx,
and a documented status code, content type and body (the error responses come from
unimatch_shared.openapi). Bounded for CI: a fixed seed and a few dozen examples per
operation; the whole module takes a minute or two.

Each service's run has a fresh non-staff user's token (so rounds are never actually held);
auth's run may log that token out or get throttled, both documented answers.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import register
from unimatch_stack.supervisor import SERVICES

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 50


@pytest.mark.parametrize("service", [spec.name for spec in SERVICES])
def test_every_answer_is_documented(api, stack, service):
    token = register(api)["token"]
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{stack.gateway_url}/openapi/{service}.json",
        f"--url={stack.gateway_url}",
        f"--header=Authorization: Token {token}",
        f"--checks={CHECKS}",
        f"--max-examples={MAX_EXAMPLES}",
        "--phases=examples,coverage,fuzzing",
        "--seed=20250428",
        "--generation-database=none",
        "--request-timeout=10",
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
