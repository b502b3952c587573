"""An in-memory stand-in for profile's repository, so each use case runs in microseconds
without PostgreSQL (docs/adr/023-unit-of-work-and-repositories.md). Its rows are plain
objects, changed in place: a test of a refusal checks that nothing was committed."""

from datetime import UTC, datetime

from profile_service.adapters.db.tables import Block, Hobby, Match, MeetingFeedback, Profile
from profile_service.domain.model import DELETED_USER
from tests.unit.fakes import FakeUnitOfWork, keep_latest
from unimatch_shared.events import GroupMember, PairCreated

CATALOG = {1: "Chess", 2: "Hiking", 3: "Jazz"}


class FakeProfiles:
    def __init__(self) -> None:
        self.rows: dict[int, Profile] = {}
        self.catalog = {
            hobby_id: Hobby(id=hobby_id, name=name) for hobby_id, name in CATALOG.items()
        }
        self.hobby_ids: dict[int, list[int]] = {}
        self.matches: list[Match] = []
        self.answers: dict[tuple[int, int, int], MeetingFeedback] = {}
        self.blocks: dict[tuple[int, int], Block] = {}
        self.deleted: dict[int, datetime] = {}

    async def add(self, profile: Profile) -> None:
        assert profile.user_id not in self.rows, "a new profile's user has none"
        self.rows[profile.user_id] = profile

    async def get(self, user_id: int, for_update: bool = False) -> Profile | None:
        return self.rows.get(user_id)

    async def existing_hobby_ids(self, ids: list[int]) -> set[int]:
        return set(ids) & set(self.catalog)

    async def all_hobbies(self) -> list[Hobby]:
        return [self.catalog[h] for h in sorted(self.catalog)]

    async def hobbies_of(self, user_id: int) -> list[Hobby]:
        return [self.catalog[h] for h in sorted(self.hobby_ids.get(user_id, []))]

    async def replace_hobbies(self, user_id: int, hobby_ids: list[int]) -> None:
        assert user_id in self.rows and set(hobby_ids) <= set(self.catalog)  # the foreign keys
        self.hobby_ids[user_id] = list(hobby_ids)

    async def add_match(self, match: Match) -> None:
        key = (match.group_id, match.user_id, match.partner_id)
        if all((m.group_id, m.user_id, m.partner_id) != key for m in self.matches):
            self.matches.append(match.model_copy(update={"id": len(self.matches) + 1}))

    async def unconfirmed_before(self, cutoff: datetime, limit: int) -> list[int]:
        found = sorted(
            (p.created_at, p.user_id)
            for p in self.rows.values()
            if not p.confirmed and p.created_at < cutoff
        )
        return [user_id for _, user_id in found[:limit]]

    async def lock_unconfirmed(self, user_ids: list[int], cutoff: datetime) -> list[Profile]:
        return [
            self.rows[u]
            for u in sorted(user_ids)
            if u in self.rows and not self.rows[u].confirmed and self.rows[u].created_at < cutoff
        ]

    async def delete_profiles(self, user_ids: list[int]) -> int:
        gone = [u for u in user_ids if self.rows.pop(u, None) is not None]
        for user_id in gone:
            self.hobby_ids.pop(user_id, None)
        return len(gone)

    async def own_match(self, user_id: int, match_id: int) -> Match | None:
        return next((m for m in self.matches if m.id == match_id and m.user_id == user_id), None)

    async def partner_names(self, user_id: int, partner_id: int) -> tuple[str, str] | None:
        rows = [m for m in self.matches if m.user_id == user_id and m.partner_id == partner_id]
        if not rows:
            return None
        latest = max(rows, key=lambda m: (m.created_at, m.id))
        return latest.partner_first_name, latest.partner_last_name

    async def save_feedback(self, answer: MeetingFeedback) -> None:
        key = (answer.user_id, answer.round_id, answer.group_id)
        keep_latest(self.answers, key, answer, "answered_at")

    async def save_block(self, block: Block) -> None:
        keep_latest(self.blocks, (block.user_id, block.blocked_user_id), block, "changed_at")

    async def block(self, user_id: int, blocked_user_id: int) -> Block | None:
        return self.blocks.get((user_id, blocked_user_id))

    async def is_deleted(self, user_id: int) -> bool:
        return user_id in self.deleted

    async def deleted_among(self, user_ids: list[int]) -> set[int]:
        return set(user_ids) & set(self.deleted)

    async def forget(self, user_id: int, deleted_at: datetime) -> None:
        self.deleted.setdefault(user_id, deleted_at)
        await self.delete_profiles([user_id])
        self.matches = [m for m in self.matches if m.user_id != user_id]
        for match in self.matches:
            if match.partner_id == user_id:
                match.partner_first_name = DELETED_USER["first_name"]
                match.partner_last_name = DELETED_USER["last_name"]
                match.partner_email = DELETED_USER["email"]
        self.answers = {k: v for k, v in self.answers.items() if k[0] != user_id}
        self.blocks = {k: v for k, v in self.blocks.items() if user_id not in k}


class FakeProfileUnitOfWork(FakeUnitOfWork):
    """One fake profile database: reuse it across use cases."""

    def __init__(self) -> None:
        super().__init__()
        self.profiles = FakeProfiles()


def group(round_id: int, group_id: int, *user_ids: int) -> PairCreated:
    """``pair.created`` for a group of these users (named N<id>)."""
    members = [
        GroupMember(id=u, first_name=f"N{u}", last_name="L", email=f"{u}@x.io") for u in user_ids
    ]
    return PairCreated(
        round_id=round_id, group_id=group_id, created_at=datetime.now(UTC), members=members
    )
