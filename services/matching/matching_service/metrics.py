"""The matching service's own Prometheus series (the shared ones are in
``unimatch_shared.metrics``): the last round this instance held (whichever of its workers
held it: ``mostrecent`` in multiprocess mode)."""

from prometheus_client import Gauge

from matching_service.adapters.db.tables import MatchRound

ROUND_USERS = Gauge(
    "unimatch_round_users",
    "Participants grouped in the last round.",
    multiprocess_mode="mostrecent",
)
ROUND_GROUPS = Gauge(
    "unimatch_round_groups",
    "Groups (pairs and the trio) of the last round.",
    multiprocess_mode="mostrecent",
)
ROUND_DURATION = Gauge(
    "unimatch_round_duration_seconds",
    "How long the last round took: grouping, storing and committing its events.",
    multiprocess_mode="mostrecent",
)
ROUND_FINISHED = Gauge(
    "unimatch_round_last_finished_timestamp_seconds",
    "When the last round was committed (Unix time); 0 until this instance holds one.",
    multiprocess_mode="mostrecent",
)


def record_round(match_round: MatchRound, seconds: float) -> None:
    ROUND_USERS.set(match_round.users)
    ROUND_GROUPS.set(match_round.groups)
    ROUND_DURATION.set(seconds)
    ROUND_FINISHED.set_to_current_time()
