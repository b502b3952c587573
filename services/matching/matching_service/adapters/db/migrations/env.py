from matching_service.adapters.db import tables
from unimatch_shared.migrations import run_alembic_env, service_metadata

run_alembic_env(service_metadata(tables))
