from notifier_service.main import create_app
from notifier_service.settings import NotifierSettings
from unimatch_shared.serve import serve

serve(create_app, NotifierSettings())
