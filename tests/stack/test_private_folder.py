"""Embedded PostgreSQL from a clone in a private (mode 700) folder, as root's home often is.

PostgreSQL refuses to run as root; as root it runs in a user namespace (infra.py,
`unprivileged_prefix`). These tests copy pgserver's binaries into a mode-700 folder, as a clone
there would have them in its .venv, and check that the server runs from there, as the invoking
user with no extra privileges, and that nothing outside the folder changed: no permission of
a parent folder, no system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from unimatch_stack import infra


@pytest.fixture
def private_clone(monkeypatch):
    """`<mkdtemp>/home/clone` (both folders mode 700) with the venv's pgserver binaries copied
    into `clone/.venv`; the code under test uses that copy."""
    top = Path(tempfile.mkdtemp(prefix="unimatch-private-"))
    try:
        home = top / "home"
        home.mkdir(mode=0o700)
        site = home / "clone" / ".venv" / "site-packages"
        installed = infra.POSTGRES_BIN_PATH.parents[2]  # site-packages/pgserver/pginstall/bin
        shutil.copytree(
            installed / "pgserver" / "pginstall",
            site / "pgserver" / "pginstall",
            ignore=shutil.ignore_patterns("include"),
            symlinks=True,
        )
        shutil.copytree(installed / "pgserver.libs", site / "pgserver.libs", symlinks=True)
        monkeypatch.setattr(infra, "POSTGRES_BIN_PATH", site / "pgserver" / "pginstall" / "bin")
        assert stat.S_IMODE(top.stat().st_mode) == 0o700
        yield home / "clone"
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _outside(clone: Path) -> dict[Path, tuple[int, int, int]]:
    """Mode and owner of every folder from the clone up to /: what the old code changed."""
    return {
        path: (path.stat().st_mode, path.stat().st_uid, path.stat().st_gid)
        for path in [clone, *clone.parents]
    }


def _ids(pid: int) -> dict[str, str]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    return {name: fields[name].split()[0] for name in ("Uid", "Gid", "CapEff")}


def _wrong_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"postgres:wrong@{parts.hostname}:{parts.port}").geturl()


def test_embedded_postgres_runs_from_a_private_folder_and_changes_nothing_outside(private_clone):
    before, users = _outside(private_clone), pwd.getpwall()
    server = infra.EmbeddedPostgres(private_clone / "var", port=0)
    try:
        url = server.start()
        with psycopg.connect(infra.ensure_database(url, "unimatch")) as conn:
            assert conn.execute("select current_database()").fetchone() == ("unimatch",)
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        # As the user who started it; as root, without a single capability.
        assert _ids(postmaster) == {
            "Uid": str(os.geteuid()),
            "Gid": str(os.getegid()),
            "CapEff": "0000000000000000",
        }
        assert "@127.0.0.1:" in url and ":@" not in url  # a password is required
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(_wrong_password(url)).close()
    finally:
        server.stop()
    assert _outside(private_clone) == before
    assert pwd.getpwall() == users
    assert {path.stat().st_uid for path in (private_clone / "var").rglob("*")} == {os.geteuid()}
    assert stat.S_IMODE(server.password_path.stat().st_mode) == 0o600


def test_a_cluster_from_before_passwords_gets_one_and_goes_back_to_its_owner(private_clone):
    """Earlier versions made trust-auth clusters, owned (as root) by a `pgserver` user."""
    server = infra.EmbeddedPostgres(private_clone / "var", port=0)
    server.data_dir.mkdir(parents=True, mode=0o700)
    server.log_path.parent.mkdir(parents=True)
    server._run(
        "initdb",
        "-D",
        str(server.data_dir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
    )
    if os.geteuid() == 0:  # as if `pgserver` (here: daemon) had made it
        for path in [server.data_dir, *server.data_dir.rglob("*"), server.log_path]:
            os.lchown(path, 1, 1)
    try:
        url = server.start()
        assert server.password_path.exists()
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(_wrong_password(url)).close()
    finally:
        server.stop()
    assert {path.stat().st_uid for path in server.data_dir.rglob("*")} == {os.geteuid()}
