from profile_service.settings import ProfileSettings
from unimatch_shared.serve import serve

serve("profile_service.main:create_app", ProfileSettings())
