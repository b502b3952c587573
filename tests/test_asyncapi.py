"""docs/asyncapi/ holds what FastStream generates from the services' brokers, kept current."""

from pathlib import Path

import yaml

from unimatch_stack.asyncapi import documents

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"


def test_published_documents_are_current():
    generated = documents()
    for name, document in generated.items():
        published = DOCS / f"{name}.yaml"
        assert published.exists(), f"run `make asyncapi`: {published} is missing"
        assert published.read_text() == document, f"run `make asyncapi`: {published} is stale"


def test_documents_show_the_event_flow():
    generated = {name: yaml.safe_load(doc) for name, doc in documents().items()}

    def operations(service, action):
        return {
            op["channel"]["$ref"].split("/")[-1].split(":")[0]
            for op in generated[service]["operations"].values()
            if op["action"] == action
        }

    assert "pair.created" in operations("matching", "send")
    assert "pair.created" in operations("profile", "receive")
    assert "pair.created" in operations("notifier", "receive")
    assert "user.registered" in operations("auth", "send")
    assert "profile.changed" in operations("matching", "receive")
