"""The bot's conversation rules that need no server: what people type, what buttons carry,
the hobby picker, and HTML escaping."""

from datetime import UTC, datetime

import pytest

from notifier_service.domain import conversation as flow
from notifier_service.domain import texts
from notifier_service.domain.keyboards import block_keyboard


def test_names_are_split_and_limited():
    assert flow.parse_name("  Ада  Лавлейс ") == ("Ада", "Лавлейс")
    assert flow.parse_name("Ада Августа Кинг") == ("Ада", "Августа Кинг")
    assert flow.parse_name("Ада") == ("Ада", "")
    assert flow.parse_name("я" * 150) == ("я" * 150, "")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("я" * 151, "name_long"),
        ("Ада " + "я" * 151, "name_long"),
        ("", "name_empty"),
        ("   ", "name_empty"),
        ("Ада\nЛавлейс", "name_control"),
        ("Ада\x00", "name_control"),
        ("Ада\u200b", "name_control"),  # zero-width space
        ("Ада\u202e", "name_control"),  # right-to-left override
        ("Ада\u2028", "name_control"),  # line separator
    ],
)
def test_names_refused(typed, reason):
    with pytest.raises(flow.Refused) as refusal:
        flow.parse_name(typed)
    assert str(refusal.value) == reason


def test_telegram_names_are_made_storable_for_the_prefill():
    assert flow.prefill_name("Ада\u202e", None) == ("Ада", "")
    assert flow.prefill_name("я" * 200, " Кинг\n ") == ("я" * 150, "Кинг")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("nobody", "email_invalid"),
        ("@example.com", "email_invalid"),
        ("a@localhost", "email_invalid"),
        ("a b@example.com", "email_invalid"),
        ("a@exam\x00ple.com", "email_invalid"),
        ("a" * 250 + "@x.ru", "email_long"),
    ],
)
def test_emails_refused(typed, reason):
    with pytest.raises(flow.Refused) as refusal:
        flow.parse_email(typed)
    assert str(refusal.value) == reason


def test_comments_keep_lines_and_refuse_the_rest():
    assert flow.parse_comment(" Было\nздорово ") == "Было\nздорово"
    assert flow.parse_comment("") == ""
    for typed in ("x" * 1001, "бип\x07"):
        with pytest.raises(flow.Refused):
            flow.parse_comment(typed)


def test_callback_data_round_trips_and_anything_else_is_refused():
    for args in [("j", 3, "create", None), ("bl", 2**62, "u", 2**62), ("h", 1, "t", 7)]:
        data = flow.callback(*args)
        assert len(data.encode()) <= 64
        assert flow.parse_callback(data) == flow.Press(*args)
    for forged in ["", None, "j:1", "j:-1:create", "J:1:create", "j:1:create:", "j:1:x:1:2",
                   "j:1:create\n", "j:" + "9" * 20 + ":x", "ж:1:x"]:  # fmt: skip
        assert flow.parse_callback(forged) is None


def test_hobby_toggles_stay_within_the_catalog():
    catalog = {1, 2, 3}
    assert flow.toggle_hobby([], 2, catalog) == [2]
    assert flow.toggle_hobby([2], 1, catalog) == [1, 2]
    assert flow.toggle_hobby([1, 2], 2, catalog) == [1]
    assert flow.toggle_hobby([1], 99, catalog) == [1]
    assert flow.page_count(0) == 1 and flow.page_count(17) == 3
    assert flow.clamp_page(99, 17) == 2 and flow.clamp_page(-1, 17) == 0


def test_people_supplied_text_is_escaped():
    hostile = {"first_name": "<b>Боб</b>", "last_name": "&", "email": "<i>@x.ru", "username": None}
    text = texts.announcement([hostile], ["<script>"])
    assert "&lt;b&gt;Боб&lt;/b&gt; &amp;" in text and "&lt;i&gt;@x.ru" in text
    assert "&lt;script&gt;" in text and "<b>" not in text
    assert "&lt;b&gt;" in texts.confirm_join("<b>", "", ["<i>"], "<u>@x.ru")
    assert "<b>" not in texts.greeting("<b>")


def test_a_deleted_partner_shows_as_such():
    deleted = {"id": None, "deleted": True}
    assert "удалённый пользователь" in texts.announcement([deleted], [])
    assert "удалённый пользователь" in texts.history(
        [(datetime(2025, 5, 1, tzinfo=UTC), [deleted])]
    )


def test_block_buttons_only_for_partners_with_an_id():
    partners = [
        {"id": 7, "first_name": "Боб", "last_name": "", "email": "b@x.ru"},
        {"first_name": "Старый", "last_name": "", "email": "o@x.ru"},  # before the button
    ]
    keyboard = block_keyboard(5, partners)
    assert keyboard == {
        "inline_keyboard": [[{"text": "🚫 Больше не подбирать: Боб", "callback_data": "bl:5:u:7"}]]
    }
    assert block_keyboard(5, partners[1:]) is None


def test_profile_shows_pause_email_and_channels():
    user = {"first_name": "<Ада>", "last_name": "", "paused": True, "paused_until": "2030-01-31"}
    text = texts.profile(user, ["Музыка"], "ada@example.com")
    assert "&lt;Ада&gt;" in text and "пауза до 31.01.2030 включительно" in text
    assert "Почта: ada@example.com" in text and "Анонсы приходят: в Telegram" in text
    chosen = texts.profile({**user, "paused": False, "channels": ["telegram", "email"]}, [], None)
    assert "участвуете" in chosen and "Почта: не указана" in chosen
    assert "Анонсы приходят: в Telegram, на почту" in chosen
