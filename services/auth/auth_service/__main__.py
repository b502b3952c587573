import sys

from pydantic import ValidationError

from auth_service.settings import AuthSettings
from unimatch_shared.serve import serve

try:
    settings = AuthSettings()
except ValidationError as exc:  # e.g. an admin password that breaks the policy
    sys.exit(f"auth: refusing to start, invalid configuration.\n{exc}")
serve("auth_service.main:create_app", settings)
