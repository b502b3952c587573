"""What auth answers on NATS: notices that a session is in use (no reply), and profile's
sweeper asking which accounts exist."""

from faststream.nats import NatsRouter

from auth_service import service
from auth_service.adapters.db import views
from unimatch_shared.consumers import MessageHandlers
from unimatch_shared.rpc import AccountsExist, AccountsExistReply, SessionSeen
from unimatch_shared.runtime import ServiceRuntime


def build_router(runtime: ServiceRuntime) -> NatsRouter:
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

    return handlers.router
