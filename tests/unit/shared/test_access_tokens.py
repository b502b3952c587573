"""Access tokens of the web surface: signed and checked without any I/O (docs/adr/015)."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from unimatch_shared.access_tokens import (
    AccessClaims,
    InvalidAccessToken,
    PublishedKey,
    key_id,
    public_jwk,
    sign,
    unverified_key_id,
    verify,
)

KEY = Ed25519PrivateKey.generate()
CLAIMS = AccessClaims(user_id=7, is_staff=False)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _check(token: str, key=KEY) -> AccessClaims:
    unverified_key_id(token)
    return verify(token, key.public_key())


def test_a_signed_token_verifies_with_its_public_key():
    token = sign(KEY, CLAIMS, timedelta(minutes=5))
    assert jwt.get_unverified_header(token) == {
        "alg": "EdDSA",
        "kid": key_id(KEY.public_key()),
        "typ": "JWT",
    }
    assert _check(token) == CLAIMS


def test_the_key_id_is_the_same_for_the_same_key_and_survives_publication():
    published = PublishedKey(jwk=public_jwk(KEY.public_key()))
    assert key_id(published.public_key()) == key_id(KEY.public_key())
    assert key_id(Ed25519PrivateKey.generate().public_key()) != key_id(KEY.public_key())


def test_an_expired_token_is_refused():
    issued = datetime.now(UTC) - timedelta(minutes=10)
    token = sign(KEY, CLAIMS, timedelta(minutes=5), now=issued)
    with pytest.raises(InvalidAccessToken):
        _check(token)


def test_another_keys_signature_is_refused():
    token = sign(Ed25519PrivateKey.generate(), CLAIMS, timedelta(minutes=5))
    with pytest.raises(InvalidAccessToken):
        _check(token)


def test_alg_none_is_refused():
    kid = key_id(KEY.public_key())
    token = ".".join(
        [_b64({"alg": "none", "kid": kid}), _b64({"user_id": 1, "sub": "1", "exp": 2**40}), ""]
    )
    with pytest.raises(InvalidAccessToken):
        _check(token)


def test_hmac_made_with_the_public_key_is_refused():
    """HS/RS confusion: the public key used as an HMAC secret."""
    public = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    now = datetime.now(UTC)
    payload = {"iss": "unimatch", "sub": "1", "user_id": 1, "iat": now, "exp": now + timedelta(1)}
    header = {"kid": key_id(KEY.public_key())}
    for secret in (public, key_id(KEY.public_key()).encode()):
        token = hs256(payload, secret, header)
        with pytest.raises(InvalidAccessToken):
            _check(token)


def hs256(payload: dict, secret: bytes, header: dict) -> str:
    """By hand: PyJWT itself refuses a PEM key as an HMAC secret."""
    payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', **header})}.{_b64(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_a_tampered_payload_is_refused():
    header, _, signature = sign(KEY, CLAIMS, timedelta(minutes=5)).split(".")
    forged = _b64(
        {"iss": "unimatch", "sub": "1", "user_id": 1, "staff": True, "iat": 1, "exp": 2**40}
    )
    with pytest.raises(InvalidAccessToken):
        _check(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(token):
    with pytest.raises(InvalidAccessToken):
        _check(token)


def test_a_retired_key_stops_at_its_time():
    published = PublishedKey(jwk=public_jwk(KEY.public_key()), retire_at=100.0)
    assert not published.retired(99.0)
    assert published.retired(100.0)
    assert not PublishedKey(jwk=public_jwk(KEY.public_key())).retired(10**12)
