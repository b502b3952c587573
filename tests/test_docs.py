"""The ADRs share one format, and ADR 007 names every request and notice that crosses NATS
(docs/adr/): a successor reads them to learn what the code does, so they must keep up."""

import re
from pathlib import Path

import pytest

from unimatch_shared.access import RPC_ROUTES
from unimatch_shared.rpc import Notice

ADR_DIR = Path(__file__).resolve().parents[1] / "docs" / "adr"
ADRS = sorted(ADR_DIR.glob("[0-9][0-9][0-9]-*.md"))
SECTIONS = ["## Context", "## Decision", "## Consequences"]
# A row of ADR 007's table: | `rpc.x.y` | asker(s) → answerer(s) | ...
REQUEST_ROW = re.compile(
    r"^\s*\| `(?P<subject>rpc\.[a-z.-]+)` \| (?P<senders>[a-z, ]+) → (?P<receivers>[a-z, ]+) \|",
    re.MULTILINE,
)


def test_adrs_are_numbered_without_gaps():
    numbers = [int(path.name[:3]) for path in ADRS]
    assert numbers == list(range(1, len(ADRS) + 1))


@pytest.mark.parametrize("path", ADRS, ids=lambda path: path.name[:3])
def test_adr_has_the_common_format(path: Path):
    lines = path.read_text().splitlines()
    assert re.fullmatch(rf"# ADR {path.name[:3]} — \S.*", lines[0]), lines[0]
    assert lines[1] == "" and lines[2].startswith("**Status:** "), lines[:3]
    headings = [line for line in lines if line.startswith("## ")]
    assert [h for h in headings if h in SECTIONS] == SECTIONS, headings


def test_adr_007_names_every_request_with_who_asks_and_who_answers():
    text = next(ADR_DIR.glob("007-*.md")).read_text()
    rows = {
        match["subject"]: (match["senders"], match["receivers"])
        for match in REQUEST_ROW.finditer(text)
    }
    for message, route in RPC_ROUTES.items():
        if issubclass(message, Notice):
            assert f"`{message.SUBJECT}`" in text, message.SUBJECT
            continue
        assert message.SUBJECT in rows, f"ADR 007 does not name {message.SUBJECT}"
        senders, receivers = rows[message.SUBJECT]
        assert senders.split(", ") == list(route.senders), message.SUBJECT
        assert receivers.split(", ") == list(route.receivers), message.SUBJECT
    assert set(rows) == {m.SUBJECT for m in RPC_ROUTES if not issubclass(m, Notice)}
