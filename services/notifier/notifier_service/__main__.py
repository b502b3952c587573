from notifier_service.settings import NotifierSettings
from unimatch_shared.serve import serve

serve("notifier_service.main:create_app", NotifierSettings())
