"""Profile's unit of work on PostgreSQL: the shared one, carrying ``uow.profiles``."""

from profile_service.adapters.db.repository import ProfileRepository
from unimatch_shared.unit_of_work import UnitOfWork


class SqlProfileUnitOfWork(UnitOfWork):
    profiles: ProfileRepository

    def open_repositories(self) -> None:
        self.profiles = ProfileRepository(self.session)
