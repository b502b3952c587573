import hashlib
import re

import pytest
from argon2 import PasswordHasher

from auth_service.domain.credentials import (
    INVALID_EMAIL,
    InvalidCredential,
    check_password,
    new_token,
    normalize_email,
)
from auth_service.domain.passwords import hash_password, verify_password
from unimatch_shared.sessions import token_digest


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("User6@Yandex.RU", "user6@yandex.ru"),
        ("  a.b@example.com ", "a.b@example.com"),
        ("почта@пример.рф", "почта@пример.рф"),
    ],
)
def test_emails_are_stored_lower_cased(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize("raw", ["", "plain", "a@", "@b.com", "a@b", "a b@c.com"])
def test_invalid_emails(raw):
    with pytest.raises(InvalidCredential, match=INVALID_EMAIL):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("abc12", "too short"),
        ("1234567", "entirely numeric"),
        ("a" * 129, "no more than 128"),
    ],
)
def test_password_rules(password, message):
    with pytest.raises(InvalidCredential, match=message):
        check_password(password)


@pytest.mark.parametrize("password", ["abc123", "пароль", "a" * 128, "123456a"])
def test_acceptable_passwords(password):
    assert check_password(password) == password


def test_tokens_are_40_random_hex_characters():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[0-9a-f]{40}", token) for token in tokens)


def test_only_the_digest_is_stored():
    token = new_token()
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_digest(token)


def test_argon2id_hashes_verify_with_owasp_parameters():
    stored = hash_password("пароль-1")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("пароль-1", stored) == (True, None)
    assert verify_password("пароль-2", stored) == (False, None)
    assert verify_password("пароль-1", None) == (False, None)


def test_a_hash_with_other_parameters_is_replaced_on_success_only():
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("пароль-1")
    assert verify_password("пароль-2", old) == (False, None)
    valid, replacement = verify_password("пароль-1", old)
    assert valid
    assert replacement.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("пароль-1", replacement) == (True, None)
