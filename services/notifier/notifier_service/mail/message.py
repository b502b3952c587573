"""A queued mail as the message put on the wire: text and HTML alternatives, and headers
made only through ``email``'s header objects, which refuse CR and LF in any value."""

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from notifier_service.adapters.db.tables import OutgoingMail
from notifier_service.domain.mail import one_line

# Header lines are not folded below SMTP's hard limit: Python 3.11's folder drops the space
# between two encoded words it splits a non-ASCII header into ("новый адрес" arrives as
# "новыйадрес"). A Russian subject travels as one long encoded word instead.
POLICY = SMTP.clone(max_line_length=998)
# RFC 8058: a POST of this body to the List-Unsubscribe URL unsubscribes, no questions asked.
ONE_CLICK = "List-Unsubscribe=One-Click"


class BadAddress(ValueError):
    """The recipient is not an address a header can carry."""


def recipient_address(mail: OutgoingMail) -> Address:
    """The To address; raises BadAddress for one no server could take."""
    local, at, domain = mail.recipient.rpartition("@")
    if not at or not local or not domain or one_line(mail.recipient) != mail.recipient:
        raise BadAddress(f"not a mail address: {mail.recipient!r}")
    try:
        return Address(display_name=one_line(mail.display_name), username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise BadAddress(str(exc)) from exc


def build_message(mail: OutgoingMail, sender: str, now: datetime) -> EmailMessage:
    """The mail with its headers: From, To, Subject, Date (now), the Message-ID it was given
    when queued (the same on every attempt) and, for mails about matches, the one-click
    unsubscribe pair."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = recipient_address(mail)
    message["Subject"] = one_line(mail.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mail.message_id
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(mail.text_body, cte="quoted-printable")
    message.add_alternative(mail.html_body, subtype="html", cte="quoted-printable")
    return message
