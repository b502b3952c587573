"""Hypothesis strategies the grouping's tests share."""

from hypothesis import strategies as st

from matching_service.domain.grouping import Participant


@st.composite
def random_participants(
    draw, min_users: int, max_users: int, most_hobbies: int, first_id: int = 0
) -> list[Participant]:
    """``min_users`` to ``max_users`` participants, ids from ``first_id`` on, each with up to
    three hobbies from a catalog of 1 to ``most_hobbies`` hobbies (its size drawn too)."""
    n = draw(st.integers(min_users, max_users))
    catalog = draw(st.integers(1, most_hobbies))
    return [
        Participant(uid, frozenset(draw(st.sets(st.integers(1, catalog), max_size=3))))
        for uid in range(first_id, first_id + n)
    ]
