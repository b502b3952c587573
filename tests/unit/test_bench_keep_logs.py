"""bench-api keeps a failed run's logs: its stack lived in a temporary directory."""

import shutil

from benchmarks.bench_api import keep_logs


def test_a_failed_runs_logs_are_copied_under_var(tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "profile.log").write_text("worker died\n")
    kept = keep_logs(logs)
    try:
        assert kept.parent.name == "bench-logs" and kept.parent.parent.name == "var"
        assert (kept / "profile.log").read_text() == "worker died\n"
    finally:
        shutil.rmtree(kept)
