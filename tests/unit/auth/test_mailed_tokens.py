"""Rules of the tokens auth mails (auth_service.domain.mailed_tokens,
docs/adr/016-password-reset.md)."""

from datetime import UTC, datetime, timedelta

import pytest

from auth_service.domain.mailed_tokens import (
    decode_uid,
    encode_uid,
    new_mailed_token,
    usable,
    well_formed,
)

NOW = datetime(2025, 4, 28, 12, 0, tzinfo=UTC)


def test_the_uid_is_djosers_base64_of_the_decimal_id():
    assert encode_uid(12) == "MTI"  # what the web app's /password-reset/<uid>/<token> carries
    assert encode_uid(7) == "Nw"
    for user_id in (1, 9, 10, 12, 999, 123456789, 2**63 - 1):
        assert decode_uid(encode_uid(user_id)) == user_id


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "MTI=",  # padded: not the form we hand out
        "MDEy",  # "012": a leading zero would give one id two uids
        "MA",  # "0"
        "LTE",  # "-1"
        "YWJj",  # "abc"
        "OTIyMzM3MjAzNjg1NDc3NTgwOA",  # 2**63: beyond a BIGINT
        "M$I",
        "4p2k",  # not ASCII once decoded
        "A" * 29,
    ],
)
def test_a_uid_naming_no_user_id_decodes_to_none(uid):
    assert decode_uid(uid) is None


def test_tokens_are_random_urlsafe_and_recognisable():
    tokens = {new_mailed_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(well_formed(token) for token in tokens)
    assert not well_formed("x" * 42)
    assert not well_formed("x" * 44)
    assert not well_formed("+" * 43)


def test_a_token_works_once_and_only_before_it_expires():
    expires = NOW + timedelta(hours=1)
    assert usable(expires, None, NOW)
    assert not usable(expires, NOW, NOW)  # used (or voided)
    assert not usable(expires, None, expires)  # the moment it expires
    assert not usable(expires, None, expires + timedelta(seconds=1))
