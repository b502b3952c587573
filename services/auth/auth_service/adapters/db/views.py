"""Read-only queries on the read pool (autocommit, one round trip, no ORM), for checks that a
flood can hit (docs/adr/012-password-hashing-and-load-shedding.md)."""

from psycopg_pool import AsyncConnectionPool


async def existing_accounts(reads: AsyncConnectionPool, user_ids: list[int]) -> list[int]:
    """Which of ``user_ids`` have an account (for profile's sweeper, ADR 001)."""
    async with reads.connection() as connection:
        cursor = await connection.execute(
            "SELECT id FROM user_account WHERE id = ANY(%s) ORDER BY id", (user_ids,)
        )
        return [user_id for (user_id,) in await cursor.fetchall()]


class PooledLookups:
    """The use cases' ``Lookups`` (auth_service/unit_of_work.py) on the read pool."""

    def __init__(self, reads: AsyncConnectionPool):
        self._reads = reads

    async def email_taken(self, email: str) -> bool:
        async with self._reads.connection() as connection:
            cursor = await connection.execute(
                "SELECT 1 FROM user_account WHERE email = %s", (email,)
            )
            return await cursor.fetchone() is not None

    async def mailed_token_usable(self, digest: str, purpose: str, user_id: int) -> bool:
        """Whether this token of ``user_id`` could be used now (checked again, locked, when
        it is spent): a cheap refusal of forged or spent links."""
        async with self._reads.connection() as connection:
            cursor = await connection.execute(
                "SELECT 1 FROM mailed_token WHERE digest = %s AND purpose = %s AND user_id = %s"
                " AND used_at IS NULL AND expires_at > now()",
                (digest, purpose, user_id),
            )
            return await cursor.fetchone() is not None
