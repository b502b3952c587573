"""The notifier SIGKILLed in the middle of a batch of mails, then restarted: no mail lost and
none sent twice (docs/faults.md, docs/adr/021-email-delivery.md).

The mail server is `make run`'s own (``unimatch_stack.mailbox``: a real aiosmtpd server
keeping each mail as an `.eml` file), told to hold one mail's transaction at RCPT — after the
sender claimed it and before the server could accept it — while the test kills the notifier.
So the kill lands with one mail claimed, mails before it sent and recorded, and the rest of
the burst's events partly consumed. (A kill after the server accepted a mail and before the
notifier recorded it would send that one mail again: SMTP's own gap, RFC 1047, which no
client can close; docs/faults.md says so.)
"""

import asyncio
import threading
from collections import Counter
from email import message_from_bytes, policy
from itertools import count

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.faults.conftest import fault_system, synthetic_pairs
from tests.support.helpers import eventually
from unimatch_stack.mailbox import Mailbox, running_mailbox

BURST = 150  # pair.created events: 300 mails, every member on email (no Telegram linked)
HOLD_AT = 20  # the RCPT at which the server holds the transaction for the kill
CONVERGE_SECONDS = 120
FAST_MAIL = {"MAIL_MESSAGES_PER_SECOND": "500"}

user_ids = count(60_000_000, 2)
group_ids = count(950_000)


class HoldingMailbox(Mailbox):
    """Holds the ``hold_at``-th recipient's transaction until released."""

    def __init__(self, *args, hold_at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.hold_at = hold_at
        self.recipients_seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self.recipients_seen += 1
        if self.recipients_seen == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox(var_dir):
    box = HoldingMailbox(var_dir / "mail", lambda line: None, hold_at=HOLD_AT)
    with running_mailbox(var_dir / "mail", handler=box) as (_, url):
        yield box, url


@pytest.fixture(scope="module")
def system(var_dir, mailbox):
    _, url = mailbox
    with fault_system(var_dir, env={"SMTP_URL": url, **FAST_MAIL}) as running:
        yield running


def kept(box: Mailbox) -> tuple[Counter, Counter]:
    """Mails the server kept: per recipient, and per Message-ID."""
    recipients: Counter = Counter()
    message_ids: Counter = Counter()
    for path in box.messages():
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        recipients[str(message["To"].addresses[0].addr_spec)] += 1
        message_ids[message["Message-ID"]] += 1
    return recipients, message_ids


def test_notifier_killed_mid_batch_sends_no_mail_twice(system, mailbox, report):
    box, _ = mailbox
    events = synthetic_pairs(BURST, user_ids, group_ids)
    expected = {m.email for e in events for m in e.members}
    publisher = threading.Thread(target=system.publish, args=(events,))
    publisher.start()
    try:
        assert box.holding.wait(60), "the sender never reached the held mail"
        applied = system.processed("notifier", [e.event_id for e in events])
        system.stack.stop_service("notifier", kill=True)
    finally:
        box.release.set()
        publisher.join(timeout=60)
    claimed = system.sql("notifier", "SELECT count(*) FROM outgoing_mail WHERE status = 'sending'")
    before_restart = len(box.messages())
    system.stack.start_service("notifier")

    eventually(
        lambda: kept(box)[0].keys() >= expected,
        "every member's mail arrives",
        timeout=CONVERGE_SECONDS,
    )
    eventually(
        lambda: (
            system.sql("notifier", "SELECT count(*) FROM outgoing_mail WHERE status <> 'sent'")[0][
                0
            ]
            == 0
        ),
        "every mail is recorded sent",
        timeout=CONVERGE_SECONDS,
    )
    recipients, message_ids = kept(box)
    delivered = sum(1 for address in expected if recipients[address])
    report(
        f"mail/notifier killed mid-batch (after {applied} of {BURST} pair.created applied, "
        f"{before_restart} mails kept, {claimed[0][0]} claimed)",
        sent=len(expected),
        delivered=delivered,
        duplicated=sum(n - 1 for n in recipients.values() if n > 1),
        lost=len(expected) - delivered,
    )
    assert 0 < before_restart < len(expected), "not killed mid-batch"
    assert claimed == [(1,)], "the held mail was claimed when the notifier died"
    assert recipients == Counter(dict.fromkeys(expected, 1))
    assert set(message_ids.values()) == {1}
    queued = system.sql(
        "notifier", "SELECT count(*), count(DISTINCT idempotency_key) FROM outgoing_mail"
    )
    assert queued == [(len(expected), len(expected))], "one queued mail per (event, member)"
