from auth_service.main import create_app
from auth_service.settings import AuthSettings
from unimatch_shared.serve import serve

serve(create_app, AuthSettings())
