from datetime import date

from profile_service.domain.model import (
    is_paused,
    partner_pairs,
    pause_until_errors,
    unknown_hobby_errors,
)


def test_unknown_hobbies_are_named_in_drf_wording():
    assert unknown_hobby_errors([1, 2], {1, 2, 3}) == {}
    assert unknown_hobby_errors([1, 99, 100], {1}) == {
        "hobby": [
            'Invalid pk "99" - object does not exist.',
            'Invalid pk "100" - object does not exist.',
        ]
    }


def test_pause_lasts_through_its_end_date():
    today = date(2025, 4, 28)
    assert not is_paused(False, None, today)
    assert is_paused(True, None, today)
    assert is_paused(True, date(2025, 4, 28), today)
    assert not is_paused(True, date(2025, 4, 27), today)


def test_pause_end_date_cannot_be_past():
    today = date(2025, 4, 28)
    assert pause_until_errors(None, today) == {}
    assert pause_until_errors(today, today) == {}
    assert "until" in pause_until_errors(date(2025, 4, 27), today)


def test_partner_rows_for_a_pair_and_a_trio():
    assert partner_pairs([1, 2]) == [(1, 2), (2, 1)]
    trio = partner_pairs([1, 2, 3])
    assert len(trio) == 6
    assert {partner for user, partner in trio if user == 1} == {2, 3}
