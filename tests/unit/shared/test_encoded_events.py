"""``Event.encode_unvalidated`` writes exactly the bytes the typed model would: the outbox
rows of a round's ``pair.created`` skip the models, the consumers still get the schema's."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimatch_shared import correlation
from unimatch_shared.events import GroupMember, PairCreated, RoundSkipped

ids = st.integers(min_value=1, max_value=2**63 - 1)
# Any text: quotes, backslashes, control characters, U+2028, emoji...
texts = st.text()
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone.min]),
)
members = st.lists(st.tuples(ids, texts, texts, texts), min_size=2, max_size=3)


@given(
    event_id=st.uuids(version=4),
    occurred_at=times,
    correlation_id=st.none() | texts,
    round_id=ids,
    group_id=ids,
    created_at=times,
    people=members,
    shared_hobbies=st.lists(texts, max_size=4),
)
def test_a_pair_created_is_encoded_as_the_model_encodes_it(
    event_id: UUID,
    occurred_at: datetime,
    correlation_id: str | None,
    round_id: int,
    group_id: int,
    created_at: datetime,
    people: list[tuple[int, str, str, str]],
    shared_hobbies: list[str],
) -> None:
    fields = {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "correlation_id": correlation_id,
        "round_id": round_id,
        "group_id": group_id,
        "created_at": created_at,
        "shared_hobbies": shared_hobbies,
    }
    as_dicts = [
        {"id": i, "first_name": first, "last_name": last, "email": email}
        for i, first, last, email in people
    ]
    typed = PairCreated(**fields, members=[GroupMember(**member) for member in as_dicts])

    assert PairCreated.encode_unvalidated(**fields, members=as_dicts) == typed.encode()


def test_fields_left_out_take_the_models_defaults() -> None:
    with correlation.bound(request_id="round-7"):
        encoded = RoundSkipped.encode_unvalidated(round_id=7, user_id=3)
    typed = RoundSkipped.model_validate_json(encoded.payload)

    assert typed.correlation_id == "round-7"
    assert typed.event_id == encoded.event_id and typed.event_id.version == 4
    assert typed.occurred_at == encoded.occurred_at
    assert encoded.subject == "round.skipped"
    assert typed.encode() == encoded


def test_each_event_gets_its_own_id_when_none_is_given() -> None:
    first, second = (RoundSkipped.encode_unvalidated(round_id=7, user_id=i) for i in (1, 2))

    assert first.event_id != second.event_id


def test_a_field_the_event_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="no field group"):
        RoundSkipped.encode_unvalidated(event_id=uuid4(), round_id=7, user_id=3, group=1)


def test_a_required_field_left_out_is_refused() -> None:
    with pytest.raises(TypeError, match="needs user_id"):
        RoundSkipped.encode_unvalidated(round_id=7)
