"""A real SMTP server (aiosmtpd) in the test's event loop, for the notifier's mail tests: it
keeps what it accepts in memory, and refuses, goes down and comes back when told to."""

import asyncio
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from unimatch_stack.infra import free_ports


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def to(self) -> str:
        return self.recipients[0]

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class MailCatcher:
    def __init__(self) -> None:
        self.port = free_ports(1)[0]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list[Received] = []
        # address -> the reply refusing it at RCPT ("550 5.1.1 no such user")
        self.refuse: dict[str, str] = {}
        self.recipients_seen: Counter[str] = Counter()  # RCPT commands, refused ones too
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    async def start(self) -> None:
        def session() -> SMTP:
            protocol = SMTP(self, hostname="catcher.test")
            self._sessions.add(protocol)
            return protocol

        self._server = await asyncio.get_running_loop().create_server(
            session, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        """Down: stop listening and cut the connections open now."""
        if self._server is not None:
            self._server.close()
            for protocol in self._sessions:
                if protocol.transport is not None:
                    protocol.transport.close()
            self._sessions.clear()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "MailCatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address in mail.recipients]

    # aiosmtpd's handler hooks
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self.recipients_seen[address] += 1
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw)
        )
        return "250 OK"
