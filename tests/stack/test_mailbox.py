"""`make run`'s local mail server (unimatch_stack.mailbox): every mail kept as an `.eml` file
under the var folder, one line said per mail with its recipients and subject, never its body
(a reset link); an SMTP_URL of one's own replaces it."""

from email import message_from_bytes, policy
from email.message import EmailMessage

import aiosmtplib

from unimatch_stack.mailbox import local_mailbox, running_mailbox
from unimatch_stack.run import _mail_env

SECRET_LINK = "http://localhost:8000/password-reset/MTI/secret-token-123"


def reset_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "UniMatch <noreply@unimatch.local>"
    message["To"] = "anna@example.com"
    message["Subject"] = "UniMatch: восстановление пароля"
    message.set_content(f"Откройте ссылку: {SECRET_LINK}")
    return message


async def test_every_mail_is_kept_and_announced_without_its_body(tmp_path):
    lines: list[str] = []
    with running_mailbox(tmp_path / "mail", lines.append) as (mailbox, url):
        port = int(url.rsplit(":", 1)[1])
        for _ in range(2):
            await aiosmtplib.send(reset_mail(), hostname="127.0.0.1", port=port)
        kept = mailbox.messages()
    assert len(kept) == 2
    message = message_from_bytes(kept[0].read_bytes(), policy=policy.default)
    assert message["Subject"] == "UniMatch: восстановление пароля"
    assert SECRET_LINK in message.get_content()
    assert len(lines) == 2
    assert lines[0].startswith("[mail] to anna@example.com: UniMatch: восстановление пароля (")
    assert all("secret-token" not in line and "password-reset" not in line for line in lines)
    assert not list((tmp_path / "mail").glob(".*.partial"))


def test_an_smtp_url_of_ones_own_replaces_the_mailbox(tmp_path):
    with local_mailbox(tmp_path, {"SMTP_URL": "smtps://u:p@mail.example.org"}) as url:
        assert url == "smtps://u:p@mail.example.org"
    assert not (tmp_path / "mail").exists()
    with local_mailbox(tmp_path, {}) as url:
        assert url.startswith("smtp://127.0.0.1:")
    assert (tmp_path / "mail").is_dir()


def test_links_in_mails_point_at_the_gateway(monkeypatch):
    monkeypatch.delenv("UNIMATCH_PUBLIC_URL", raising=False)
    assert _mail_env("smtp://127.0.0.1:2525", 8123) == {
        "SMTP_URL": "smtp://127.0.0.1:2525",
        "UNIMATCH_PUBLIC_URL": "http://localhost:8123",
    }
    monkeypatch.setenv("UNIMATCH_PUBLIC_URL", "https://unimatch.example.org")
    assert _mail_env("smtp://x", 8000)["UNIMATCH_PUBLIC_URL"] == "https://unimatch.example.org"
