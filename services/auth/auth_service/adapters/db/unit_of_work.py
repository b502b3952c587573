"""Auth's unit of work on PostgreSQL: the shared one, carrying auth's repositories."""

from auth_service.adapters.db.repository import (
    AccountRepository,
    AttemptRepository,
    MailedTokenRepository,
    SeedTokenRepository,
    WebSessionRepository,
)
from unimatch_shared.unit_of_work import UnitOfWork


class SqlAuthUnitOfWork(UnitOfWork):
    accounts: AccountRepository
    seed_tokens: SeedTokenRepository
    attempts: AttemptRepository
    web_sessions: WebSessionRepository
    mailed_tokens: MailedTokenRepository

    def open_repositories(self) -> None:
        self.accounts = AccountRepository(self.session)
        self.seed_tokens = SeedTokenRepository(self.session)
        self.attempts = AttemptRepository(self.session)
        self.web_sessions = WebSessionRepository(self.session)
        self.mailed_tokens = MailedTokenRepository(self.session)
