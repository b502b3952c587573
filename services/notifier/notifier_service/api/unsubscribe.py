"""The one-click unsubscribe link every mail about matches carries (RFC 8058): a POST turns
email off for the user the signed token names, without logging in; a GET only shows a page
asking to confirm, since mail scanners open links (docs/api.md, Unsubscribe)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from notifier_service import mail_service
from notifier_service.api.dependencies import Mail, UoW
from notifier_service.api.schemas import UnsubscribedOut
from notifier_service.mail.templates import unsubscribe_page
from unimatch_shared.errors import APIError

router = APIRouter(prefix="/users/api/unsubscribe", tags=["mail"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not a link UniMatch made", "content": {"application/json": {}}}
}


def _not_found() -> APIError:
    return APIError(404, {"detail": "Not found."})


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    responses={200: {"description": "A page whose button unsubscribes"}, **NOT_FOUND},
)
async def confirmation_page(token: str, uow: UoW, mail: Mail) -> HTMLResponse:
    if not await mail_service.is_genuine(uow, mail, token):
        raise _not_found()
    return HTMLResponse(unsubscribe_page(done=False))


@router.post(
    "/{token}",
    response_model=UnsubscribedOut,
    responses={200: {"content": {"text/html": {}}}, **NOT_FOUND},
)
async def unsubscribe(token: str, request: Request, uow: UoW, mail: Mail) -> Response:
    """Any body (a mail client sends ``List-Unsubscribe=One-Click``); answers HTML to a
    browser that submitted the confirmation page, JSON otherwise."""
    if not await mail_service.unsubscribe(uow, mail, token):
        raise _not_found()
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(unsubscribe_page(done=True))
    return JSONResponse({"unsubscribed": True})
