from auth_service.settings import AuthSettings
from unimatch_shared.serve import serve

serve("auth_service.main:create_app", AuthSettings())
