"""`make run`'s mail server, when SMTP_URL is unset: a local SMTP server (aiosmtpd) that
accepts every message and keeps it as an `.eml` file under `<var>/mail`, and says one line
per mail — its recipients and subject, never its body, which may hold a reset link — so a
developer can open the file (any mail client reads `.eml`) and follow the link in it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from unimatch_stack.infra import free_ports


def one_line(text: str) -> str:
    """Text fit for a log line: whatever breaks a line becomes a space."""
    return " ".join(text.split())


class Mailbox:
    """aiosmtpd's handler: every message is written (atomically) to a file of its own."""

    def __init__(self, directory: Path, announce: Callable[[str], None] = print):
        self.directory = directory
        self.announce = announce
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        name = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(content)
        partial.replace(self.directory / name)
        subject = message_from_bytes(content, policy=policy.default).get("Subject", "")
        recipients = ", ".join(str(r) for r in envelope.rcpt_tos)
        self.announce(f"[mail] to {one_line(recipients)}: {one_line(str(subject))} ({name})")
        return "250 OK: kept"

    def messages(self) -> list[Path]:
        """The `.eml` files kept so far, oldest first."""
        return sorted(self.directory.glob("*.eml"))


@contextmanager
def running_mailbox(
    directory: Path,
    announce: Callable[[str], None] = print,
    port: int | None = None,
    handler: Mailbox | None = None,
) -> Iterator[tuple[Mailbox, str]]:
    """A mailbox listening on 127.0.0.1 (a free port unless given), and its SMTP URL;
    ``handler``: a mailbox of one's own (tests hold or refuse mails with it)."""
    mailbox = handler or Mailbox(directory, announce)
    port = port or free_ports(1)[0]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@contextmanager
def local_mailbox(var_dir: Path, environ: Mapping[str, str] = os.environ) -> Iterator[str]:
    """SMTP_URL for `make run`: the one set, else a mailbox under `var_dir/mail`."""
    if environ.get("SMTP_URL"):
        yield environ["SMTP_URL"]
        return
    with running_mailbox(var_dir / "mail", lambda line: print(line, flush=True)) as (_, url):
        yield url
