from profile_service.main import create_app
from profile_service.settings import ProfileSettings
from unimatch_shared.serve import serve

serve(create_app, ProfileSettings())
