from matching_service.settings import MatchingSettings
from unimatch_shared.serve import serve

serve("matching_service.main:create_app", MatchingSettings())
