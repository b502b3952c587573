"""What auth answers on NATS: notices that a session is in use (no reply), profile's
sweeper asking which accounts exist, profile asking for a change of email, and the
bot (joins, and /leave deleting an account)."""

from collections.abc import Awaitable
from typing import TypeVar

from faststream.nats import NatsRouter

from auth_service import mailed_links, service
from auth_service.adapters.db import views
from auth_service.adapters.db.unit_of_work import SqlAuthUnitOfWork
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.errors import DomainError, reply_errors
from unimatch_shared.rpc import (
    AccountsExist,
    AccountsExistReply,
    DeleteAccount,
    DeleteAccountReply,
    EmailChangeReply,
    JoinByTelegram,
    JoinByTelegramReply,
    RequestEmailChange,
    SessionSeen,
)
from unimatch_shared.runtime import ServiceRuntime

Reply = TypeVar("Reply", EmailChangeReply, JoinByTelegramReply)


async def _reply(reply_type: type[Reply], answer: Awaitable[Reply]) -> Reply:
    """A use case's reply, or its refusal as the reply's ``errors``: where requests' answers
    map domain errors."""
    try:
        return await answer
    except DomainError as refusal:
        return reply_type(errors=reply_errors(refusal))


def build_router(runtime: ServiceRuntime[SqlAuthUnitOfWork]) -> NatsRouter:
    handlers = MessageHandlers(runtime.messaging, "auth")

    @handlers.answer(SessionSeen)
    async def session_seen(notice: SessionSeen) -> None:
        await service.renew_session(runtime.unit_of_work(), runtime.live_sessions, notice.digest)

    @handlers.answer(AccountsExist)
    async def accounts_exist(request: AccountsExist) -> AccountsExistReply:
        # The database unreachable: no reply, so the asker times out and deletes nothing.
        return AccountsExistReply(
            existing=await views.existing_accounts(runtime.reads, request.user_ids)
        )

    @handlers.answer(RequestEmailChange)
    async def request_email_change(request: RequestEmailChange) -> EmailChangeReply:
        lifetime = runtime.settings.email_change_token_lifetime
        return await _reply(
            EmailChangeReply,
            mailed_links.request_email_change(
                runtime.unit_of_work(), request.user_id, request.email, lifetime
            ),
        )

    @handlers.answer(DeleteAccount)
    async def delete_account(request: DeleteAccount) -> DeleteAccountReply:
        # The database or the session store unreachable: no reply; the asker times out
        # and nothing was deleted.
        deleted = await service.delete_account(
            runtime.unit_of_work(), runtime.live_sessions, request.user_id
        )
        return DeleteAccountReply(deleted=deleted)

    @handlers.answer(JoinByTelegram)
    async def join_by_telegram(request: JoinByTelegram) -> JoinByTelegramReply:
        # Profile unreachable, or a race, raises: no reply, and the notifier keeps the join
        # to ask again.
        return await _reply(
            JoinByTelegramReply,
            service.join_by_telegram(runtime.unit_of_work(), runtime.messaging, request),
        )

    return handlers.router
