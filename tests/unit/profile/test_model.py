from datetime import UTC, date, datetime, timedelta

from profile_service.domain.model import (
    current_and_earlier,
    is_paused,
    partner_pairs,
    pause_until_errors,
    rating_errors,
    shown_pending_email,
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


def _match(match_id: int, round_id: int) -> dict:
    return {"id": match_id, "round_id": round_id, "partner": {"id": match_id}}


def _strip(match: dict) -> dict:
    return {k: v for k, v in match.items() if k != "round_id"}


def test_the_current_match_is_the_one_of_the_latest_round():
    history = [_match(5, 3), _match(6, 3), _match(2, 1)]  # a trio in round 3
    current, earlier = current_and_earlier(history, latest_round=3)
    assert current == _strip(history[0])
    assert earlier == [_strip(history[1]), _strip(history[2])]
    # Left out of the latest round: no current match, nothing hidden.
    current, earlier = current_and_earlier(history, latest_round=4)
    assert current is None and earlier == [_strip(m) for m in history]
    assert current_and_earlier([], latest_round=None) == (None, [])


def test_a_pending_email_shows_while_its_link_works():
    now = datetime(2025, 4, 28, 12, 0, tzinfo=UTC)
    later = now + timedelta(hours=1)
    assert shown_pending_email("new@example.com", later, now) == "new@example.com"
    assert shown_pending_email("new@example.com", now, now) is None
    assert shown_pending_email("new@example.com", None, now) is None
    assert shown_pending_email(None, later, now) is None


def test_a_rating_only_rates_a_meeting_that_happened():
    assert rating_errors("yes", 5) == rating_errors("yes", None) == {}
    assert rating_errors("no", None) == rating_errors("not_yet", None) == {}
    assert set(rating_errors("no", 3)) == set(rating_errors("not_yet", 1)) == {"rating"}
