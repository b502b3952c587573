"""Matching's unit of work on PostgreSQL: the shared one, carrying ``uow.matching``."""

from matching_service.adapters.db.repository import MatchingRepository
from unimatch_shared.unit_of_work import UnitOfWork


class SqlMatchingUnitOfWork(UnitOfWork):
    matching: MatchingRepository

    def open_repositories(self) -> None:
        self.matching = MatchingRepository(self.session)
