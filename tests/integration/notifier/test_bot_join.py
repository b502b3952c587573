"""Joining in the bot against the stand-in Bot API, with auth, profile and the notifier in
this process: a whole join and the match that follows, a join interrupted by a restart, double
taps, a second join, hostile input."""

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager

from auth_service.main import create_app as create_auth
from auth_service.settings import AuthSettings
from notifier_service.main import create_app as create_notifier
from profile_service.main import create_app as create_profile
from profile_service.settings import ProfileSettings
from tests.conftest import running_app
from tests.integration.notifier.bot_chat import BotChat, toggles
from tests.integration.notifier.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, pair_created
from tests.support.helpers import eventually, publish, query
from unimatch_shared.rpc import JoinByTelegram, JoinByTelegramReply

JOIN = "Присоединиться"


@asynccontextmanager
async def backends(env, with_auth: bool = True):
    """auth (unless told not to) and profile, in this process."""
    common = {
        "database_url": env.database_url,
        "nats_url": env.nats_url,
        "unimatch_event_prefix": env.event_prefix,
    }
    async with AsyncExitStack() as stack:
        if with_auth:
            auth_settings = AuthSettings(
                **common, unimatch_admin_email=ADMIN_EMAIL, unimatch_admin_password=ADMIN_PASSWORD
            )
            await stack.enter_async_context(running_app(create_auth(auth_settings)))
        await stack.enter_async_context(running_app(create_profile(ProfileSettings(**common))))
        yield


def notifier(settings):
    return running_app(create_notifier(settings))


async def join_until_confirm(chat: BotChat, name: str, email: str | None):
    """/start, Join, the name, one hobby, the email (or skip); the confirmation message."""
    offer = await chat.say("/start")
    await chat.press(offer, JOIN)
    assert "Шаг 1 из 3" in offer.text
    picker = await chat.say(name)
    assert "Шаг 2 из 3" in picker.text
    await chat.press_data(picker, toggles(picker)[0])
    assert "Выбрано: 1" in picker.text
    await chat.press(picker, "Готово")
    assert "Шаг 3 из 3" in picker.text
    if email is None:
        await chat.press(picker, "Пропустить")
        return picker
    return await chat.say(email)


async def accounts_of(env, telegram_id: int) -> list[tuple]:
    return await query(
        env.database_url,
        "auth",
        "select id, email, password_hash from user_account where telegram_id = %s",
        telegram_id,
    )


async def test_whole_join_then_matched_and_announced(env, notifier_settings, telegram, nc):
    async with backends(env), notifier(notifier_settings):
        ada = BotChat(telegram, 9101, "Ада")
        offer = await ada.say("/start")
        assert set(offer.buttons()) == {JOIN}
        assert offer.parse_mode == "HTML"
        await ada.press(offer, JOIN)
        assert "Оставить «Ада»" in offer.buttons()
        picker = await ada.say("Ада Лавлейс")
        first_page = toggles(picker)
        await ada.press_data(picker, first_page[0])
        await ada.press(picker, "▶")
        assert "Страница 2" in picker.text and toggles(picker) != first_page
        await ada.press_data(picker, toggles(picker)[0])
        assert "Выбрано: 2" in picker.text
        await ada.press(picker, "Готово")
        confirm = await ada.say("Ada@Example.com")
        assert "Ада Лавлейс" in confirm.text and "Ada@Example.com" in confirm.text
        await ada.press(confirm, "Создать аккаунт")
        assert "Готово, Ада!" in confirm.text

        [(user_id, email, password_hash)] = await accounts_of(env, 9101)
        assert email == "ada@example.com" and password_hash == ""  # no password until a reset
        hobbies = await query(
            env.database_url, "profile", "select hobby_id from profile_hobby where user_id = %s",
            user_id,
        )  # fmt: skip
        assert len(hobbies) == 2
        assert await query(
            env.database_url, "notifier", "select user_id from chat_link where chat_id = 9101"
        ) == [(user_id,)]

        async def confirmed():
            rows = await query(
                env.database_url,
                "profile",
                "select confirmed, chat_id from profile where user_id = %s",
                user_id,
            )
            return rows == [(True, "9101")]

        await eventually(confirmed, "profile confirmed by user.registered and linked")
        me = await ada.say("/profile")
        assert "Ада Лавлейс" in me.text and "ada@example.com" in me.text
        assert "участвуете в подборе" in me.text

        await publish(
            nc.jetstream(), env.event_prefix, pair_created(31, (user_id, "Ада"), (77, "Фрэнк"))
        )
        await eventually(lambda: "новая пара" in ada.last().text)
        assert "Больше не подбирать: Фрэнк Тестов" in "".join(ada.last().buttons())


async def test_join_interrupted_by_restarts_resumes_where_it_stopped(
    env, notifier_settings, telegram
):
    bea = BotChat(telegram, 9102, "Беа")
    async with backends(env):
        async with notifier(notifier_settings):
            offer = await bea.say("/start")
            await bea.press(offer, JOIN)
            picker = await bea.say("Беатрис")
            await bea.press_data(picker, toggles(picker)[1])
        async with notifier(notifier_settings):  # restarted: the join is where it was
            resumed = await bea.say("/start")
            assert "Продолжим" in resumed.text and "Выбрано: 1" in resumed.text
            # The button of before the restart is the same step's: it still works.
            await bea.press(picker, "Готово")
            assert "Шаг 3 из 3" in picker.text
            await bea.press(picker, "Пропустить")
    # Auth is down as the account is asked for: nothing is made, the join waits.
    async with backends(env, with_auth=False), notifier(notifier_settings):
        await bea.press(picker, "Создать аккаунт")
        assert "Повторить" in picker.buttons()
    assert await accounts_of(env, 9102) == []
    async with backends(env), notifier(notifier_settings):
        done = await bea.say("/start")  # resumes the submission
        assert "Готово, Беатрис!" in done.text
        [(user_id, email, _)] = await accounts_of(env, 9102)
        assert email == "telegram-9102@telegram.invalid"
        assert "чат привязан" in (await bea.say("/start")).text


async def test_double_taps_take_a_step_once(env, notifier_settings, telegram):
    async with backends(env), notifier(notifier_settings):
        cid = BotChat(telegram, 9103, "Сид")
        offer = await cid.say("/start")
        await cid.press(offer, JOIN)
        picker = await cid.say("Сид")
        toggle = toggles(picker)[0]
        first = telegram.push_press(cid.chat_id, picker, toggle)
        second = telegram.push_press(cid.chat_id, picker, toggle)
        await eventually(lambda: {first, second} <= set(telegram.callback_answers))
        assert "Выбрано: 1" in picker.text  # toggled once, not on and off again
        answers = [telegram.callback_answers[first], telegram.callback_answers[second]]
        assert sum("устарела" in (answer or "") for answer in answers) == 1  # either may be first
        await cid.press(picker, "Готово")
        await cid.press(picker, "Пропустить")
        create = picker.buttons()["Создать аккаунт"]
        presses = [telegram.push_press(cid.chat_id, picker, create) for _ in range(3)]
        await eventually(lambda: set(presses) <= set(telegram.callback_answers))
        await eventually(lambda: "Готово, Сид!" in picker.text)
        assert len(await accounts_of(env, 9103)) == 1
        joined = [m for m in cid.messages() if "Готово, Сид!" in m.text]
        assert len(joined) == 1
        # Telegram delivering the same update twice: the second is dropped.
        update = telegram.message_update(cid.chat_id, "/start")
        telegram.push_update(update)
        telegram.push_update(update)
        await eventually(lambda: "чат привязан" in cid.last().text)
        await asyncio.sleep(0.5)
        assert sum("чат привязан" in m.text for m in cid.messages()) == 1


async def test_a_chat_joins_once_and_an_email_is_one_account(env, notifier_settings, telegram):
    async with backends(env), notifier(notifier_settings):
        dan = BotChat(telegram, 9104, "Дан")
        confirm = await join_until_confirm(dan, "Дан", "dan@example.com")
        await dan.press(confirm, "Создать аккаунт")
        assert "Готово, Дан!" in confirm.text
        # The old offer's Join button, and /start: already a member, nothing made.
        offer = next(
            m for m in dan.messages() if "Этот чат пока не привязан" in m.text or m.buttons()
        )
        await dan.press_data(offer, "j:0:begin")
        assert "уже привязан" in dan.messages()[0].text
        assert "чат привязан" in (await dan.say("/start")).text
        assert len(await accounts_of(env, 9104)) == 1
        # Another person giving the same email is sent back to the email step.
        eve = BotChat(telegram, 9105, "Ева")
        confirm = await join_until_confirm(eve, "Ева", "DAN@example.com")
        await eve.press(confirm, "Создать аккаунт")
        assert "user with this email already exists" in confirm.text
        assert "Шаг 3 из 3" in confirm.text
        assert await accounts_of(env, 9105) == []
        confirm = await eve.say("eve@example.com")
        await eve.press(confirm, "Создать аккаунт")
        assert "Готово, Ева!" in confirm.text


async def test_hostile_input_is_refused_or_escaped(env, notifier_settings, telegram):
    async with backends(env), notifier(notifier_settings):
        mal = BotChat(telegram, 9106, "<b>Мэл</b>\u202e")
        offer = await mal.say("/start")
        for forged in ("j:99:create", "zz:1:x", "h:1:t:99999999", "j:1:keep:1:2", "x" * 64):
            assert await mal.press_data(offer, forged) is not None  # answered, politely
        await mal.press(offer, JOIN)
        # Telegram's name, prefilled, loses the invisible character and is escaped.
        assert "&lt;b&gt;Мэл&lt;/b&gt;" in offer.text and "\u202e" not in offer.text
        for refused, why in [
            ("я" * 151, "не больше 150"),
            ("Мэл\x00Лори", "управляющие"),
            ("Мэл\u200bЛори", "управляющие"),
            ("   ", "хотя бы одно слово"),
        ]:
            assert why in (await mal.say(refused)).text
        picker = await mal.say("<i>Мэл</i> & <script>")
        assert "Шаг 2 из 3" in picker.text
        await mal.press_data(picker, picker.buttons()["Готово"])
        assert "Шаг 2 из 3" in picker.text  # at least one hobby
        version = toggles(picker)[0].split(":")[1]
        await mal.press_data(picker, f"h:{version}:t:99999")  # not in the catalog
        assert "Выбрано: 0" in picker.text
        await mal.press_data(picker, toggles(picker)[0])
        await mal.press(picker, "Готово")
        assert "не похоже" in (await mal.say("<script>@x")).text
        assert "не больше 254" in (await mal.say("a" * 250 + "@x.ru")).text
        confirm = await mal.say("<b>@example.com")
        assert "&lt;b&gt;@example.com" in confirm.text
        await mal.press(confirm, "Создать аккаунт")
        assert "valid email" in confirm.text  # auth's check: back to the email step
        confirm = await mal.say("mal@example.com")
        assert "&lt;i&gt;Мэл&lt;/i&gt; &amp; &lt;script&gt;" in confirm.text
        await mal.press(confirm, "Создать аккаунт")
        [(user_id, _, _)] = await accounts_of(env, 9106)
        names = await query(
            env.database_url,
            "profile",
            "select first_name, last_name from profile where user_id = %s",
            user_id,
        )
        assert names == [("<i>Мэл</i>", "& <script>")]  # stored as typed, shown escaped
        assert "&lt;i&gt;Мэл&lt;/i&gt;" in (await mal.say("/profile")).text


async def test_joining_works_through_the_webhook_too(env, notifier_settings, telegram):
    url = "https://unimatch.example.com/telegram/webhook"
    settings = notifier_settings.model_copy(update={"telegram_webhook_url": url})
    async with backends(env), notifier(settings) as client:
        await eventually(lambda: telegram.webhook)
        headers = {"X-Telegram-Bot-Api-Secret-Token": telegram.webhook["secret_token"]}

        async def push(update: dict) -> None:
            response = await client.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 200

        await push(telegram.message_update(9107, "/start", "Вебхук"))
        [offer] = telegram.chat(9107)
        press = telegram.press_update(9107, offer, offer.buttons()[JOIN], "Вебхук")
        await push(press)
        assert press["callback_query"]["id"] in telegram.callback_answers
        assert "Оставить «Вебхук»" in offer.buttons()
        await push(press)  # delivered again: dropped, answered once
        assert list(telegram.callback_answers).count(press["callback_query"]["id"]) == 1


async def test_auth_makes_one_account_per_telegram_user(env, nc):
    async def join(**fields) -> JoinByTelegramReply:
        request = JoinByTelegram(**{"first_name": "Ада", "hobby": [1], **fields})
        subject = env.event_prefix + JoinByTelegram.SUBJECT
        reply = await nc.request(subject, request.model_dump_json().encode(), timeout=10)
        return JoinByTelegramReply.model_validate_json(reply.data)

    async with backends(env):
        first = await join(telegram_id=555, email="Ada2@example.com")
        assert first.created and first.user_id and first.errors is None
        again = await join(telegram_id=555, email="other@example.com", hobby=[2])
        assert again == JoinByTelegramReply(user_id=first.user_id, created=False)
        assert await join(telegram_id=556, email="ada2@example.com") == JoinByTelegramReply(
            errors={"email": ["user with this email already exists."]}
        )
        assert (await join(telegram_id=557, email="not an email")).errors == {
            "email": ["Enter a valid email address."]
        }
        assert "hobby" in (await join(telegram_id=558, hobby=[99999])).errors
        assert await accounts_of(env, 558) == []  # refused by profile: nothing remains
        placeholder = await join(telegram_id=559)
        assert await accounts_of(env, 559) == [
            (placeholder.user_id, "telegram-559@telegram.invalid", "")
        ]


async def test_profile_changes_hobbies_and_pauses_in_the_bot(env, notifier_settings, telegram):
    async with backends(env), notifier(notifier_settings):
        fay = BotChat(telegram, 9108, "Фая")
        confirm = await join_until_confirm(fay, "Фая", None)
        await fay.press(confirm, "Создать аккаунт")
        [(user_id, _, _)] = await accounts_of(env, 9108)

        async def hobbies() -> set[int]:
            rows = await query(
                env.database_url,
                "profile",
                "select hobby_id from profile_hobby where user_id = %s",
                user_id,
            )
            return {hobby for (hobby,) in rows}

        before = await hobbies()
        profile = await fay.say("/profile")
        assert "Фая" in profile.text and "Почта: не указана" in profile.text
        assert "Анонсы приходят: в Telegram" in profile.text
        await fay.press(profile, "Пауза на неделю")
        assert "пауза до" in profile.text and "Вернуться в подбор" in profile.buttons()
        await fay.press(profile, "Вернуться в подбор")
        assert "участвуете в подборе" in profile.text
        await fay.press(profile, "Пауза, пока не верну")
        assert "пока вы её не снимете" in profile.text
        paused = await query(
            env.database_url,
            "profile",
            "select paused, paused_until from profile where user_id = %s",
            user_id,
        )
        assert paused == [(True, None)]

        await fay.press(profile, "Изменить увлечения")
        assert f"Выбрано: {len(before)}" in profile.text
        chosen = [text for text in profile.buttons() if text.startswith("✅")]
        assert len(chosen) == len(before)
        added = next(data for text, data in profile.buttons().items() if ":t:" in data
                     and not text.startswith("✅"))  # fmt: skip
        await fay.press_data(profile, added)
        save = profile.buttons()["Сохранить"]
        presses = [telegram.push_press(fay.chat_id, profile, save) for _ in range(2)]
        await eventually(lambda: set(presses) <= set(telegram.callback_answers))
        assert "Увлечения сохранены" in profile.text
        assert await hobbies() == before | {int(added.rsplit(":", 1)[1])}


async def test_a_group_chat_cannot_join(env, notifier_settings, telegram):
    async with backends(env), notifier(notifier_settings):
        update = telegram.message_update(9109, "/start")
        update["message"]["chat"] = {"id": -9109, "type": "group", "title": "Кофе"}
        telegram.push_update(update)
        await eventually(lambda: telegram.chat(-9109))
        [answer] = telegram.chat(-9109)
        assert "Присоединиться" not in answer.buttons() and "/help" in answer.text
        assert await accounts_of(env, 9109) == []
