from matching_service.main import create_app
from matching_service.settings import MatchingSettings
from unimatch_shared.serve import serve

serve(create_app, MatchingSettings())
