"""The mails' words, in Russian: Jinja2 templates, each mail a subject, a text and an HTML
part. HTML parts escape everything they are given (names are user input); the subject is
rendered as text and then kept to one line (``one_line``), so no name can add a header."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifier_service.domain.mail import one_line

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def greeting(first_name: str) -> str:
    return f"Здравствуйте, {first_name}!" if first_name else "Здравствуйте!"


def render(kind: str, unsubscribe_url: str | None = None, **context: Any) -> RenderedMail:
    """The mail ``kind`` (announcement, round_skipped, password_reset, email_change)."""
    context["unsubscribe_url"] = unsubscribe_url
    subject = one_line(_environment.get_template(f"{kind}.subject.txt").render(context))
    context["subject"] = subject
    return RenderedMail(
        subject=subject,
        text=_environment.get_template(f"{kind}.txt").render(context).strip() + "\n",
        html=_environment.get_template(f"{kind}.html").render(context),
    )


def unsubscribe_page(done: bool) -> str:
    """What a browser opening (GET) or submitting (POST) the unsubscribe link shows."""
    return _environment.get_template("unsubscribe.html").render(done=done)
