"""The signing key of web access tokens (docs/adr/015): made on first start and kept, and
replaced without logging anyone out — tokens signed with the previous key keep working for
one access-token lifetime, refresh cookies are unaffected."""

import asyncio
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from auth_service.main import create_app
from auth_service.settings import AuthSettings
from tests.conftest import running_app
from tests.integration.auth.helpers import ADMIN, staffed
from unimatch_shared.access_tokens import AccessClaims, InvalidAccessToken, sign

ACCESS_SECONDS = 8.0


def settings(service_settings, **extra) -> AuthSettings:
    return staffed(
        service_settings,
        unimatch_access_token_minutes=ACCESS_SECONDS / 60,
        **extra,
    )


async def log_in(client) -> tuple[str, str]:
    response = await client.post("/api/token/", json=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["access"], response.cookies["refresh_token"]


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


async def test_the_key_is_made_once_and_kept(service_settings, tmp_path):
    first = settings(service_settings, unimatch_var_dir=tmp_path)
    async with running_app(create_app(first)) as client:
        access, _ = await log_in(client)
    key_file = tmp_path / "jwt" / "signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    kept = key_file.read_text()
    app = create_app(settings(service_settings, unimatch_var_dir=tmp_path))
    async with running_app(app):
        assert key_file.read_text() == kept
        assert (await app.state.access_keys.verify(access)).is_staff


async def test_a_new_key_leaves_the_old_ones_tokens_valid_until_they_expire(service_settings):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    before = create_app(settings(service_settings, unimatch_jwt_private_key=pem(old)))
    async with running_app(before) as client:
        old_access, cookie = await log_in(client)
    # A token the old key signed to live long: only the key's retirement can stop it.
    long_lived = sign(old, AccessClaims(user_id=1, is_staff=True), timedelta(hours=1))

    after = create_app(settings(service_settings, unimatch_jwt_private_key=pem(new)))
    async with running_app(after) as client:
        keys = after.state.access_keys
        assert (await keys.verify(old_access)).user_id == 1
        assert (await keys.verify(long_lived)).user_id == 1
        renewed = await client.post(
            "/api/token/refresh/", headers={"Cookie": f"refresh_token={cookie}"}
        )
        assert renewed.status_code == 200, renewed.text
        assert (await keys.verify(renewed.json()["access"])).user_id == 1
        await asyncio.sleep(ACCESS_SECONDS + 0.5)
        with pytest.raises(InvalidAccessToken):
            await keys.verify(long_lived)
        assert (await keys.verify(sign(new, AccessClaims(1, True), timedelta(1)))).is_staff
