"""Two people with only Telegram, end to end through the whole stack: they join in the bot,
a round pairs them and announces it, each answers "did you meet?", one blocks the other and
then leaves, all with the bot's buttons (the stack's follow-up delay is 0)."""

import psycopg

from tests.e2e.helpers import wait_until_matching_knows
from tests.support.helpers import eventually
from tests.support.telegram_stub import Sent, ThreadedTelegram

# A hobby no other end-to-end test gives anyone, so the optimum must pair these two.
RARE_HOBBY = 36


class Chat:
    """One person's chat with the bot, driven from the test's thread."""

    def __init__(self, telegram: ThreadedTelegram, chat_id: int):
        self.telegram = telegram
        self.chat_id = chat_id

    def messages(self) -> list[Sent]:
        return self.telegram.chat(self.chat_id)

    def say(self, text: str) -> Sent:
        before = len(self.messages())
        self.telegram.push_message(self.chat_id, text)
        eventually(lambda: len(self.messages()) > before, f"an answer to {text!r}")
        return self.messages()[before]

    def press(self, message: Sent, label: str) -> None:
        [data] = [d for text, d in message.buttons().items() if text.startswith(label)]
        query_id = self.telegram.push_press(self.chat_id, message, data)
        eventually(lambda: query_id in self.telegram.stub.callback_answers, f"{label} answered")

    def join(self, name: str) -> None:
        offer = self.say("/start")
        self.press(offer, "Присоединиться")
        picker = self.say(name)
        while not any(data.endswith(f":t:{RARE_HOBBY}") for data in picker.buttons().values()):
            self.press(picker, "▶")
        [hobby] = [text for text, d in picker.buttons().items() if d.endswith(f":t:{RARE_HOBBY}")]
        self.press(picker, hobby)
        self.press(picker, "Готово")
        self.press(picker, "Пропустить")
        self.press(picker, "Создать аккаунт")
        assert "Аккаунт UniMatch создан" in picker.text


def test_people_with_only_telegram_join_meet_answer_block_and_leave(api, infra, telegram, staff):
    gleb, dina = Chat(telegram, 7_300_001), Chat(telegram, 7_300_002)
    gleb.join("Глеб Бот")
    dina.join("Дина Бот")
    with psycopg.connect(infra.database_url, autocommit=True) as db:
        ids = dict(
            db.execute(
                "SELECT telegram_id, id FROM auth.user_account WHERE telegram_id = ANY(%s)",
                ([gleb.chat_id, dina.chat_id],),
            ).fetchall()
        )
        wait_until_matching_knows(infra, list(ids.values()))
        assert api.post("/matching/api/rounds/", headers=staff).status_code == 201

        def announced(chat: Chat) -> Sent | None:
            # (in a pair, or a trio when the round has an odd number of people)
            return next((m for m in chat.messages() if m.text.startswith("☕ У вас нов")), None)

        eventually(lambda: announced(gleb) and announced(dina), "both told about the match")
        assert "Дина Бот" in announced(gleb).text and "Глеб Бот" in announced(dina).text

        def asked(chat: Chat) -> Sent | None:
            return next((m for m in chat.messages() if "Вы встретились" in m.text), None)

        eventually(lambda: asked(gleb) and asked(dina), "both asked whether they met")
        question = asked(gleb)
        gleb.press(question, "Встретились")
        gleb.press(question, "5")
        assert "Спасибо" in gleb.say("Хорошо посидели").text
        dina.press(asked(dina), "Пока нет")
        answers = db.execute(
            "SELECT user_id, met, rating FROM notifier.follow_up WHERE user_id = ANY(%s)",
            (list(ids.values()),),
        ).fetchall()
        assert sorted(answers) == sorted(
            [(ids[gleb.chat_id], "yes", 5), (ids[dina.chat_id], "not_yet", None)]
        )

        dina.press(announced(dina), "🚫 Больше не подбирать: Глеб Бот")
        blocks = db.execute(
            "SELECT blocked_user_id FROM notifier.bot_block WHERE user_id = %s",
            (ids[dina.chat_id],),
        ).fetchall()
        assert blocks == [(ids[gleb.chat_id],)]

        question = gleb.say("/leave")
        gleb.press(question, "Да, удалить")
        assert "Аккаунт удалён" in question.text
        gone = db.execute(
            "SELECT (SELECT count(*) FROM auth.user_account WHERE id = %(id)s)"
            " + (SELECT count(*) FROM notifier.chat_link WHERE user_id = %(id)s)",
            {"id": ids[gleb.chat_id]},
        ).fetchone()
        assert gone == (0,)
        eventually(
            lambda: "удалённый пользователь" in dina.say("/history").text,
            "Dina's history keeps a deleted user in Gleb's place",
            interval=0.5,
        )
        assert "Присоединиться" in gleb.say("/start").text
