"""Use cases about one's matches: answering "did you meet?" and blocking a partner, from the
REST API (here) or from the bot (its events, applied by the consumers below).

The REST use cases apply their own event at once and claim it in the inbox in the same
transaction, so the caller's next read shows it and its delivery back to profile is a
no-op. Both kinds of record apply in any arrival order: the latest ``occurred_at`` wins
(docs/adr/017-blocks-and-feedback.md).
"""

from datetime import UTC

from profile_service.adapters.db.tables import Block, MeetingFeedback
from profile_service.adapters.db.views import INSTANT_FORMAT
from profile_service.domain.model import rating_errors
from profile_service.service import CONSUMER
from profile_service.unit_of_work import ProfileUnitOfWork
from unimatch_shared.errors import Invalid, NotFound
from unimatch_shared.events import Event, PartnerBlocked, PartnerUnblocked
from unimatch_shared.events import MeetingFeedback as Answered
from unimatch_shared.inbox import applied_once

NEVER_MATCHED = "You were never matched with this user."
ANSWER_FIELDS = {"user_id", "round_id", "group_id", "met", "rating", "comment"}


async def answer_feedback(
    uow: ProfileUnitOfWork, user_id: int, match_id: int, answer: dict
) -> dict:
    """``POST /users/api/pairs/<id>/feedback``: the answer about the group of the caller's
    own match row ``match_id`` (anyone else's is a 404), stored and published."""
    errors = rating_errors(answer["met"], answer["rating"])
    if errors:
        raise Invalid(errors)
    async with uow:
        match = await uow.profiles.own_match(user_id, match_id)
        if match is None:
            raise NotFound()
        event = Answered(
            user_id=user_id, round_id=match.round_id, group_id=match.group_id, **answer
        )
        await _claim(uow, event)
        await _store_feedback(uow, event)
        uow.emit(event)
        await uow.commit()
    return _feedback_view(event)


@applied_once(CONSUMER)
async def on_feedback(uow: ProfileUnitOfWork, event: Answered) -> None:
    """An answer given in the bot (or this service's own, already applied)."""
    if not await uow.profiles.is_deleted(event.user_id):
        await _store_feedback(uow, event)


async def block_partner(uow: ProfileUnitOfWork, user_id: int, partner_id: int) -> dict:
    """``POST /users/api/blocks``: only someone the caller was matched with (a 400 otherwise,
    also for a deleted account). Blocking again changes nothing and publishes nothing."""
    async with uow:
        names = await uow.profiles.partner_names(user_id, partner_id)
        if names is None or await uow.profiles.is_deleted(partner_id):
            raise Invalid({"user_id": [NEVER_MATCHED]})
        block = await uow.profiles.block(user_id, partner_id)
        if block is None or not block.blocked:
            event = PartnerBlocked(user_id=user_id, blocked_user_id=partner_id)
            await _claim(uow, event)
            await _store_block(uow, event)
            uow.emit(event)
            changed_at = event.occurred_at
        else:
            changed_at = block.changed_at
        await uow.commit()
    first_name, last_name = names
    return {
        "user_id": partner_id,
        "first_name": first_name,
        "last_name": last_name,
        "created_at": changed_at.astimezone(UTC).strftime(INSTANT_FORMAT),
    }


async def unblock_partner(uow: ProfileUnitOfWork, user_id: int, partner_id: int) -> None:
    """``DELETE /users/api/blocks/<user_id>``: a 404 unless that block is in place."""
    async with uow:
        block = await uow.profiles.block(user_id, partner_id)
        if block is None or not block.blocked:
            raise NotFound()
        event = PartnerUnblocked(user_id=user_id, blocked_user_id=partner_id)
        await _claim(uow, event)
        await _store_block(uow, event)
        uow.emit(event)
        await uow.commit()


@applied_once(CONSUMER)
async def on_block_change(uow: ProfileUnitOfWork, event: PartnerBlocked | PartnerUnblocked) -> None:
    """A block made or lifted in the bot (or this service's own, already applied)."""
    if not await uow.profiles.deleted_among([event.user_id, event.blocked_user_id]):
        await _store_block(uow, event)


async def _claim(uow: ProfileUnitOfWork, event: Event) -> None:
    """Mark this service's own event as applied, in the transaction applying it."""
    await uow.first_delivery(CONSUMER, event.event_id)


async def _store_feedback(uow: ProfileUnitOfWork, event: Answered) -> None:
    answer = event.model_dump(include=ANSWER_FIELDS)
    await uow.profiles.save_feedback(MeetingFeedback(**answer, answered_at=event.occurred_at))


async def _store_block(uow: ProfileUnitOfWork, event: PartnerBlocked | PartnerUnblocked) -> None:
    await uow.profiles.save_block(
        Block(
            user_id=event.user_id,
            blocked_user_id=event.blocked_user_id,
            blocked=isinstance(event, PartnerBlocked),
            changed_at=event.occurred_at,
        )
    )


def _feedback_view(event: Answered) -> dict:
    """docs/api.md, The feedback object."""
    return {
        "met": event.met,
        "rating": event.rating,
        "comment": event.comment,
        "answered_at": event.occurred_at.astimezone(UTC).strftime(INSTANT_FORMAT),
    }
