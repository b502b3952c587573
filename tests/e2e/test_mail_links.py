"""Mail end to end, through the gateway, against a real SMTP server: two members without
Telegram hear of their match by mail and one follows the one-click unsubscribe link in it;
password-reset and email-change links are read from the mails and followed."""

from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import psycopg

from tests.e2e.helpers import auth, register, wait_until_matching_knows
from tests.support.helpers import eventually

# A hobby no other end-to-end test gives anyone.
RARE_HOBBY = 38


def leave_the_pool(api, infra, *people: dict) -> None:
    """Pause these users, so the rounds of later tests do not have to place them."""
    for person in people:
        paused = api.post("/users/api/pause/", headers=auth(person["token"]), json={})
        assert paused.status_code == 200
    ids = [person["user"]["id"] for person in people]
    wait_until_matching_knows(infra, ids, paused_ids=ids)


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
    leave_the_pool(api, infra, anna, boris)


def link_in(message: EmailMessage, prefix: str) -> str:
    """The path of the link starting with ``prefix`` in the mail's text part."""
    for word in message.get_body(("plain",)).get_content().split():
        path = urlsplit(word).path
        if path.startswith(prefix):
            return path
    raise AssertionError(f"no {prefix} link in the mail")


def test_reset_and_email_change_links_arrive_by_mail_and_work(api, infra, mailbox):
    """The whole loop: auth asks, the notifier mails, the link in the mail is followed."""
    user = register(api)
    email = user["user"]["email"]
    assert api.post("/users/api/password-reset/", json={"email": email}).status_code == 204
    [reset] = eventually(lambda: mails_to(mailbox, email), timeout=60)
    assert reset["Subject"] == "UniMatch: восстановление пароля"
    assert reset["List-Unsubscribe"] is None
    _, uid, token = link_in(reset, "/password-reset/").strip("/").split("/")
    link = {"uid": uid, "token": token, "new_password": "n3w-pa55word"}
    done = api.post("/users/api/password-reset/confirm/", json=link)
    assert done.status_code == 204, done.text
    # The old password and every old token are gone; the new password works, once set.
    old = api.post("/auth/token/login/", json={"email": email, "password": "pa55word"})
    assert old.status_code == 400
    assert api.get("/users/api/me/", headers=auth(user["token"])).status_code == 401
    login = api.post("/auth/token/login/", json={"email": email, "password": "n3w-pa55word"})
    assert login.status_code == 201
    again = api.post("/users/api/password-reset/confirm/", json={**link, "new_password": "x"})
    assert again.status_code == 400

    new = "moved." + email
    headers = auth(login.json()["token"])
    assert api.patch("/users/api/me/", json={"email": new}, headers=headers).status_code == 200
    [change] = eventually(lambda: mails_to(mailbox, new), timeout=60)
    assert change["Subject"] == "UniMatch: подтвердите новый адрес почты"
    confirm_token = link_in(change, "/confirm-email/").rsplit("/", 1)[1]
    confirmed = api.post("/users/api/email-change/confirm/", json={"token": confirm_token})
    assert confirmed.status_code == 204, confirmed.text
    eventually(lambda: api.get("/users/api/me/", headers=headers).json()["email"] == new)
    leave_the_pool(api, infra, {**user, "token": login.json()["token"]})


def test_an_unknown_email_is_answered_alike_and_mailed_nothing(api, mailbox):
    known = register(api)["user"]["email"]
    unknown = "nobody." + known
    for email in (unknown, known):
        response = api.post("/users/api/password-reset/", json={"email": email})
        assert (response.status_code, response.content) == (204, b"")
    eventually(lambda: mails_to(mailbox, known), timeout=60)  # the later request's mail came
    assert mails_to(mailbox, unknown) == []


def test_an_expired_link_from_the_mail_is_refused(api, infra, mailbox):
    user = register(api)
    email = user["user"]["email"]
    assert api.post("/users/api/password-reset/", json={"email": email}).status_code == 204
    [reset] = eventually(lambda: mails_to(mailbox, email), timeout=60)
    _, uid, token = link_in(reset, "/password-reset/").strip("/").split("/")
    with psycopg.connect(infra.database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE auth.mailed_token SET expires_at = now() - interval '1 second'"
            " WHERE user_id = %s",
            (user["user"]["id"],),
        )
    late = api.post(
        "/users/api/password-reset/confirm/",
        json={"uid": uid, "token": token, "new_password": "n3w-pa55word"},
    )
    assert late.status_code == 400
    still = api.post("/auth/token/login/", json={"email": email, "password": "pa55word"})
    assert still.status_code == 201
