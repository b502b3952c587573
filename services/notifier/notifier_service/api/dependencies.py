"""What the notifier's endpoints get from this process, typed: the one place that reads
``request.app.state``."""

from typing import Annotated

from fastapi import Depends

from notifier_service.mail.compose import MailComposer
from notifier_service.settings import NotifierSettings
from notifier_service.telegram.client import TelegramBot
from unimatch_shared.messaging import Messaging
from unimatch_shared.runtime import from_app_state, from_runtime, unit_of_work
from unimatch_shared.unit_of_work import UnitOfWork

UoW = Annotated[UnitOfWork, Depends(unit_of_work)]
Requests = Annotated[Messaging, Depends(from_runtime("messaging"))]
Settings = Annotated[NotifierSettings, Depends(from_runtime("settings"))]
# None when no bot token is configured.
Telegram = Annotated[TelegramBot | None, Depends(from_app_state("telegram"))]
# Signs and checks the unsubscribe links.
Mail = Annotated[MailComposer, Depends(from_app_state("mail"))]
