"""A real SMTP server (aiosmtpd) in the test's event loop, for the notifier's mail tests: it
keeps what it accepts in memory, and refuses, goes down and comes back when told to; it may
require STARTTLS or speak TLS from the start, and require a login."""

import asyncio
import datetime
import ipaddress
import ssl
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a new self-signed certificate for ``localhost`` and 127.0.0.1,
    and the certificate's file (for clients to trust, e.g. through ``SSL_CERT_FILE``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


class MailCatcher:
    """``tls``: STARTTLS offered and required (or, with ``implicit_tls``, TLS from the first
    byte, as smtps://); ``login``: (user, password) required before MAIL."""

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_ports(1)[0]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._login = login
        self.logins: list[str] = []  # users that logged in
        self.secure_sessions = 0  # sessions that carried a mail over TLS
        self.received: list[Received] = []
        # address -> the reply refusing it at RCPT ("550 5.1.1 no such user")
        self.refuse: dict[str, str] = {}
        self.recipients_seen: Counter[str] = Counter()  # RCPT commands, refused ones too
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    async def start(self) -> None:
        starttls = self._tls if not self._implicit_tls else None

        def session() -> SMTP:
            protocol = SMTP(
                self,
                hostname="catcher.test",
                tls_context=starttls,
                require_starttls=starttls is not None,
                auth_required=self._login is not None,
                # Implicit TLS is there from the first byte; aiosmtpd only knows of STARTTLS.
                auth_require_tls=starttls is not None,
                authenticator=self._authenticate if self._login else None,
            )
            self._sessions.add(protocol)
            return protocol

        self._server = await asyncio.get_running_loop().create_server(
            session,
            "127.0.0.1",
            self.port,
            reuse_address=True,
            ssl=self._tls if self._implicit_tls else None,
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

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert self._login is not None
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == self._login:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

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
        if server.transport is not None and server.transport.get_extra_info("ssl_object"):
            self.secure_sessions += 1
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw)
        )
        return "250 OK"
