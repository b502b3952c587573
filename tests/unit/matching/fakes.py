"""An in-memory stand-in for matching's repository, so each use case runs without
PostgreSQL (docs/adr/023-unit-of-work-and-repositories.md). ``clock`` is the database's
clock: a test sets ``now``."""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import combinations

from matching_service.adapters.db.tables import Block, MatchRound, MeetingFeedback, Participant
from matching_service.domain.rounds import NewGroup, ParticipantRow
from tests.unit.fakes import FakeUnitOfWork, keep_latest


class FakeMatching:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 12, tzinfo=UTC)
        self.participants_by_id: dict[int, Participant] = {}
        self.blocks: dict[tuple[int, int], Block] = {}
        self.answers: dict[tuple[int, int, int], MeetingFeedback] = {}
        self.deleted: dict[int, datetime] = {}
        self.rounds: dict[int, MatchRound] = {}
        self.groups: dict[int, tuple[int, NewGroup]] = {}  # id -> (round id, group)
        self.epoch: datetime | None = None
        self._next_group_id = 1

    async def save_participant(self, participant: Participant) -> None:
        user_id = participant.user_id
        keep_latest(self.participants_by_id, user_id, participant, "changed_at")

    async def save_block(self, block: Block) -> None:
        keep_latest(self.blocks, (block.user_id, block.blocked_user_id), block, "changed_at")

    async def was_member(self, user_id: int, round_id: int, group_id: int) -> bool:
        found = self.groups.get(group_id)
        return found is not None and found[0] == round_id and user_id in found[1].user_ids

    async def save_feedback(self, answer: MeetingFeedback) -> None:
        key = (answer.user_id, answer.round_id, answer.group_id)
        keep_latest(self.answers, key, answer, "answered_at")

    async def is_deleted(self, user_id: int) -> bool:
        return user_id in self.deleted

    async def deleted_among(self, user_ids: list[int]) -> set[int]:
        return set(user_ids) & set(self.deleted)

    async def forget(self, user_id: int, deleted_at: datetime) -> None:
        self.deleted.setdefault(user_id, deleted_at)
        self.participants_by_id.pop(user_id, None)
        self.blocks = {k: v for k, v in self.blocks.items() if user_id not in k}
        self.answers = {k: v for k, v in self.answers.items() if k[0] != user_id}

    async def get_round(self, round_id: int) -> MatchRound | None:
        return self.rounds.get(round_id)

    async def answer_figures(self, round_id: int) -> tuple[int, int, float | None]:
        answers = [a for a in self.answers.values() if a.round_id == round_id]
        ratings = [a.rating for a in answers if a.rating is not None]
        mean = sum(ratings) / len(ratings) if ratings else None
        return len(answers), sum(a.met == "yes" for a in answers), mean

    async def recent_rounds(self, limit: int) -> list[MatchRound]:
        return [self.rounds[i] for i in sorted(self.rounds, reverse=True)[:limit]]

    async def clock(self) -> datetime:
        return self.now

    async def period_taken(self, period: date) -> bool:
        return any(r.period == period for r in self.rounds.values())

    async def scheduler_epoch(self, now: datetime) -> datetime:
        self.epoch = self.epoch or now
        return self.epoch

    async def save_round(self, match_round: MatchRound) -> None:
        if match_round.id is None:
            match_round.id = len(self.rounds) + 1
        self.rounds[match_round.id] = match_round

    async def participants(self) -> list[ParticipantRow]:
        return [
            ParticipantRow(
                p.user_id,
                p.email,
                p.first_name,
                p.last_name,
                p.paused,
                p.paused_until,
                [h["id"] for h in p.hobbies],
                [h["name"] for h in p.hobbies],
            )
            for _, p in sorted(self.participants_by_id.items())
        ]

    async def met_before(self) -> list[tuple[int, int]]:
        return sorted(
            {
                pair
                for _, group in self.groups.values()
                for pair in combinations(sorted(group.user_ids), 2)
            }
        )

    async def blocked_pairs(self) -> list[tuple[int, int]]:
        return [key for key, block in self.blocks.items() if block.blocked]

    async def last_trio(self, current_round_id: int) -> list[int]:
        earlier = [i for i in self.rounds if i < current_round_id]
        if not earlier:
            return []
        previous = max(earlier)
        trios = [g for r, g in self.groups.values() if r == previous and len(g.user_ids) == 3]
        return list(trios[0].user_ids) if trios else []

    async def new_group_ids(self, count: int) -> list[int]:
        first = self._next_group_id
        self._next_group_id += count
        return list(range(first, first + count))

    async def store_groups(self, round_id: int, groups: Sequence[NewGroup]) -> None:
        for group in groups:
            self.groups[group.id] = (round_id, group)


class FakeMatchingUnitOfWork(FakeUnitOfWork):
    """One fake matching database: reuse it across use cases."""

    def __init__(self) -> None:
        super().__init__()
        self.matching = FakeMatching()
