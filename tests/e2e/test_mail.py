"""Mail end to end, through the gateway: two members without Telegram hear of their match by
mail; one follows the one-click unsubscribe link in it, and ``me`` shows email off."""

from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

from tests.e2e.helpers import auth, register, wait_until_matching_knows
from tests.support.helpers import eventually

# A hobby no other end-to-end test gives anyone.
RARE_HOBBY = 38


def mails_to(mailbox, address: str) -> list[EmailMessage]:
    box, _ = mailbox
    found = []
    for path in box.messages():
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"].addresses[0].addr_spec == address:
            found.append(message)
    return found


def test_members_without_telegram_are_mailed_and_can_unsubscribe(api, infra, staff, mailbox):
    anna = register(api, first_name="Анна", hobby=[RARE_HOBBY])
    boris = register(api, first_name="Борис", hobby=[RARE_HOBBY])
    for person in (anna, boris):
        me = api.get("/users/api/me/", headers=auth(person["token"])).json()
        assert me["channels"] == ["email"]
    wait_until_matching_knows(infra, [anna["user"]["id"], boris["user"]["id"]])
    assert api.post("/matching/api/rounds/", headers=staff).status_code == 201

    [to_anna] = eventually(lambda: mails_to(mailbox, anna["user"]["email"]), timeout=60)
    assert to_anna["Subject"].startswith("Ваш")
    assert to_anna["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = to_anna["List-Unsubscribe"].strip("<>")
    path = urlsplit(link).path
    assert path.startswith(f"/users/api/unsubscribe/{anna['user']['id']}.")
    assert link in to_anna.get_body(("plain",)).get_content()

    page = api.get(path)
    assert page.status_code == 200 and "<form" in page.text
    one_click = api.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200, one_click.text
    assert one_click.json() == {"unsubscribed": True}
    eventually(
        lambda: api.get("/users/api/me/", headers=auth(anna["token"])).json()["channels"] == [],
        "anna's profile shows email off",
    )
    assert api.get("/users/api/me/", headers=auth(boris["token"])).json()["channels"] == ["email"]
    assert api.post(path.replace(f"/{anna['user']['id']}.", "/1.")).status_code == 404
