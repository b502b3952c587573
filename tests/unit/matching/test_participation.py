"""Who takes part in a round, and the hobbies a group is told it shares."""

from datetime import date

from matching_service.domain.participation import common_hobby_ids, shared_hobbies, takes_part

TODAY = date(2025, 4, 28)


def test_unpaused_users_take_part():
    assert takes_part(False, None, TODAY)
    assert takes_part(False, date(2030, 1, 1), TODAY)


def test_paused_without_a_date_stays_out():
    assert not takes_part(True, None, TODAY)


def test_a_pause_lasts_through_its_date():
    assert not takes_part(True, date(2025, 4, 29), TODAY)
    assert not takes_part(True, TODAY, TODAY)
    assert takes_part(True, date(2025, 4, 27), TODAY)


SPORT, MUSIC, ART, CHESS = {2: "Спорт"}, {5: "Музыка"}, {3: "Рисование"}, {9: "Шахматы"}


def test_a_pair_shares_the_hobbies_both_have_in_id_order():
    a, b = {5: "Музыка", 2: "Спорт", 3: "Рисование"}, {2: "Спорт", 5: "Музыка"}
    assert shared_hobbies([a, b]) == ["Спорт", "Музыка"]
    assert common_hobby_ids([a, b]) == {2, 5}


def test_a_pair_with_nothing_in_common():
    assert shared_hobbies([SPORT, MUSIC]) == []
    assert common_hobby_ids([SPORT, MUSIC]) == set()


def test_a_trio_shares_what_all_three_have():
    assert shared_hobbies([SPORT | MUSIC, SPORT | ART, SPORT | MUSIC]) == ["Спорт"]


def test_a_trio_with_nothing_common_to_all_gets_what_any_two_share():
    trio = [SPORT | ART, SPORT | MUSIC, MUSIC | CHESS]
    assert common_hobby_ids(trio) == set()
    assert shared_hobbies(trio) == ["Спорт", "Музыка"]


def test_a_trio_sharing_nothing_at_all():
    assert shared_hobbies([SPORT, MUSIC, ART]) == []
