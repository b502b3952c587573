"""Everything the bot says, in Russian, as Telegram HTML (the bots' parse mode): whatever
people supplied (names, emails, usernames, hobbies, comments) is escaped here."""

from datetime import date, datetime
from html import escape
from typing import Any

COMMANDS = {
    "start": "Начать и привязать аккаунт",
    "pair": "Текущая пара",
    "next": "Когда следующий подбор",
    "history": "История встреч",
    "pause": "Пауза в подборе (можно с датой: /pause 2025-06-01)",
    "resume": "Вернуться в подбор",
    "profile": "Мой профиль: увлечения, пауза",
    "leave": "Удалить аккаунт",
    "help": "Справка",
}

HELP = "UniMatch раз в неделю подбирает вам собеседника для встречи за кофе.\n\n" + "\n".join(
    f"/{name} — {description}" for name, description in COMMANDS.items()
)
NOT_LINKED = (
    "Привет! Я бот UniMatch. Этот чат пока не привязан к аккаунту UniMatch. "
    "Присоединиться можно прямо здесь — /start. Если аккаунт уже есть, откройте профиль "
    "в UniMatch и нажмите «Привязать Telegram»: вы получите ссылку на этого бота, "
    "перейдите по ней."
)
LINKED = (
    "Готово! Telegram привязан к вашему аккаунту UniMatch. Когда появится пара, "
    "я напишу сюда. /help — список команд."
)
CODE_INVALID = (
    "Ссылка недействительна: она уже использована или устарела. Получите новую в профиле UniMatch."
)
CHAT_TAKEN = "Этот Telegram-аккаунт уже привязан к другому пользователю UniMatch."
NO_MATCH = "Пары пока нет. Когда следующий подбор — /next."
NO_HISTORY = "Встреч пока не было."
RESUMED = "С возвращением! Вы снова участвуете в подборе пар."
PAUSE_REFUSED = "Не получилось: дата окончания паузы должна быть не раньше сегодняшней."
BAD_PAUSE_DATE = "Укажите дату в формате ГГГГ-ММ-ДД, например: /pause 2025-06-01"
DELETED_USER = "удалённый пользователь"
UNAVAILABLE = "Сервис временно недоступен, попробуйте чуть позже."
HISTORY_LIMIT = 10


def _day(moment: date | datetime) -> str:
    return moment.strftime("%d.%m.%Y")


def _name(person: dict[str, Any]) -> str:
    if person.get("deleted"):
        return DELETED_USER
    return escape(f"{person['first_name']} {person['last_name']}".strip() or person["email"])


def _contact(person: dict[str, Any]) -> str:
    """Telegram where the partner linked it, else email."""
    if person.get("username"):
        return f"Telegram: @{escape(person['username'])}"
    return f"почта: {escape(person['email'])}"


def _partner_line(person: dict[str, Any]) -> str:
    if person.get("deleted"):
        return f"• {DELETED_USER}"
    return f"• {_name(person)} — {_contact(person)}"


def _group(partners: list[dict[str, Any]], shared_hobbies: list[str]) -> list[str]:
    lines = [_partner_line(p) for p in partners]
    if shared_hobbies:
        lines.append(f"Общие увлечения: {escape(', '.join(shared_hobbies))}.")
    else:
        lines.append("Общих увлечений не нашлось — тем интереснее знакомство!")
    return lines


def announcement(partners: list[dict[str, Any]], shared_hobbies: list[str]) -> str:
    """The message each linked member gets for a new match (a pair or the trio)."""
    title = (
        "☕ У вас новая пара в UniMatch!"
        if len(partners) == 1
        else ("☕ У вас новая встреча в UniMatch — на этот раз вас трое!")
    )
    closing = "Напишите друг другу и договоритесь о встрече."
    return "\n".join([title, "", *_group(partners, shared_hobbies), "", closing])


def greeting(first_name: str) -> str:
    hello = f"Привет, {escape(first_name)}!" if first_name else "Привет!"
    return f"{hello} Этот чат привязан к UniMatch: когда появится пара, я напишу сюда.\n\n{HELP}"


def current_match(
    created_at: datetime, partners: list[dict[str, Any]], shared_hobbies: list[str]
) -> str:
    lines = [f"Ваша пара с {_day(created_at)}:", *_group(partners, shared_hobbies)]
    return "\n".join(lines)


def history(matches: list[tuple[datetime, list[dict[str, Any]]]]) -> str:
    lines = ["Ваши встречи, начиная с последней:"]
    for created_at, partners in matches:
        lines.append(f"{_day(created_at)} — {', '.join(_name(p) for p in partners)}")
    return "\n".join(lines)


def next_round(days: int, hours: int, minutes: int, at: str) -> str:
    return f"Следующий подбор пар — {escape(at)}.\nОсталось: {days} дн. {hours} ч. {minutes} мин."


def paused(until: date | None) -> str:
    when = f" до {_day(until)} включительно" if until else ", пока не отправите /resume"
    return f"Пауза включена: вы не участвуете в подборе пар{when}."


# The bot's conversations (docs/adr/020-telegram-conversations.md). Button labels are plain
# text (Telegram does not parse them), cut to fit.
BUTTON_LABEL_MAX = 40
JOIN_OFFER = (
    "Привет! Я бот UniMatch: раз в неделю подбираю собеседника для встречи за кофе.\n\n"
    "Этот чат пока не привязан к аккаунту. Присоединиться можно прямо здесь — это займёт "
    "минуту. Если аккаунт UniMatch уже есть, откройте профиль на сайте и нажмите "
    "«Привязать Telegram»: вы получите ссылку на этого бота."
)
BUTTON_JOIN = "Присоединиться"
BUTTON_CANCEL = "Отмена"
BUTTON_SKIP = "Пропустить"
BUTTON_DONE = "Готово"
BUTTON_SAVE = "Сохранить"
BUTTON_CREATE = "Создать аккаунт"
BUTTON_RETRY = "Повторить"
BUTTON_PREVIOUS = "◀"
BUTTON_NEXT = "▶"
ASK_HOBBIES = "<b>Шаг 2 из 3.</b> Выберите увлечения — хотя бы одно — и нажмите «Готово»."
EDIT_HOBBIES = "Выберите увлечения — хотя бы одно — и нажмите «Сохранить»."
CHOOSE_ONE = "Выберите хотя бы одно увлечение."
ASK_EMAIL = (
    "<b>Шаг 3 из 3.</b> Напишите адрес электронной почты: по нему можно будет задать пароль "
    "для сайта. Или пропустите этот шаг."
)
REFUSALS = {
    "name_empty": "Напишите имя, хотя бы одно слово.",
    "name_control": "В имени есть невидимые или управляющие символы — напишите его заново.",
    "name_long": "Слишком длинно: имя и фамилия — не больше 150 символов каждое.",
    "email_long": "Слишком длинный адрес: не больше 254 символов.",
    "email_invalid": "Это не похоже на адрес почты. Пример: name@example.com",
    "comment_control": "В комментарии есть управляющие символы — напишите его заново.",
    "comment_long": "Слишком длинно: комментарий — не больше 1000 символов.",
}
JOIN_CANCELLED = "Хорошо, ничего не сохранено. /start — начать заново."
JOIN_RESUMED = "Продолжим с того места, где остановились."
JOIN_RETRY = (
    "Не получилось создать аккаунт: сервис временно недоступен. Всё введённое сохранено — "
    "нажмите «Повторить» чуть позже."
)
JOIN_REFUSED = "Не получилось создать аккаунт. Проверьте данные и попробуйте ещё раз."
ALREADY_MEMBER = "Этот чат уже привязан к аккаунту UniMatch. /profile — ваш профиль."
STALE_BUTTON = "Эта кнопка устарела."
NOT_A_MEMBER = "Этот чат не привязан к аккаунту UniMatch. /start — присоединиться."
BUTTON_CHANGE_HOBBIES = "Изменить увлечения"
BUTTON_PAUSE_WEEK = "Пауза на неделю"
BUTTON_PAUSE_TWO_WEEKS = "Пауза на 2 недели"
BUTTON_PAUSE_OPEN = "Пауза, пока не верну"
BUTTON_RESUME = "Вернуться в подбор"
HOBBIES_SAVED = "Увлечения сохранены."
HOBBIES_REFUSED = "Не получилось сохранить увлечения. /profile — попробовать ещё раз."
LEAVE_CONFIRM = (
    "Удалить аккаунт UniMatch? Профиль, увлечения и история встреч удалятся во всех "
    "сервисах; в истории ваших прошлых собеседников останется «удалённый пользователь». "
    "Это необратимо."
)
BUTTON_LEAVE = "Да, удалить"
BUTTON_STAY = "Нет, остаться"
LEFT = "Аккаунт удалён. Спасибо, что были с нами! Вернуться можно в любой момент — /start."
STAYED = "Хорошо, аккаунт остаётся."
BUTTON_MET = "Встретились"
BUTTON_NOT_YET = "Пока нет"
BUTTON_WONT = "Не получится"
ASK_RATING = "Как прошла встреча? Оцените от 1 до 5."
ASK_COMMENT = (
    "Спасибо! Если хотите, напишите пару слов о встрече (до 1000 символов) или нажмите "
    "«Пропустить»."
)
FEEDBACK_THANKS = "Спасибо за ответ!"
FOLLOW_UP_STALE = "Этот вопрос о прошлой встрече — отвечать на него уже не нужно."
BUTTON_UNAVAILABLE = "Эта кнопка недоступна."
ROUND_SKIPPED = (
    "В этом раунде пару подобрать не получилось: все возможные собеседники — среди тех, "
    "с кем вы попросили больше не встречаться. В следующем подборе вы участвуете как обычно."
)


CHANNELS = {"telegram": "в Telegram", "email": "на почту"}


def label(text: str) -> str:
    """A button's label: plain text, at most ``BUTTON_LABEL_MAX`` characters."""
    return text if len(text) <= BUTTON_LABEL_MAX else text[: BUTTON_LABEL_MAX - 1] + "…"


def full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


def ask_name(first_name: str, last_name: str) -> str:
    name = full_name(first_name, last_name)
    keep = f" или оставьте «{escape(name)}»" if name else ""
    return f"<b>Шаг 1 из 3.</b> Как вас представить? Напишите имя и фамилию{keep}."


def keep_name(first_name: str, last_name: str) -> str:
    return label(f"Оставить «{full_name(first_name, last_name)}»")


def refused(reason: str, question: str) -> str:
    return f"{REFUSALS[reason]}\n\n{question}"


def hobby_page(question: str, page: int, pages: int, chosen: int) -> str:
    return f"{question}\n\nСтраница {page + 1} из {pages}. Выбрано: {chosen}."


def hobby_button(name: str, chosen: bool) -> str:
    return label(("✅ " if chosen else "") + name)


def confirm_join(first_name: str, last_name: str, hobbies: list[str], email: str | None) -> str:
    lines = [
        "<b>Проверьте, всё ли верно:</b>",
        f"Имя: {escape(full_name(first_name, last_name))}",
        f"Увлечения: {escape(', '.join(hobbies))}",
        f"Почта: {escape(email) if email else 'не указана'}",
    ]
    return "\n".join(lines)


def join_errors(errors: dict[str, list[str]], question: str) -> str:
    """Auth's refusal (its messages are English, as the API's), then the step's question."""
    details = "; ".join(escape(m) for messages in errors.values() for m in messages)
    return f"{JOIN_REFUSED} ({details})\n\n{question}"


def joined(first_name: str) -> str:
    return (
        f"Готово, {escape(first_name)}! Аккаунт UniMatch создан и привязан к этому чату. "
        "Когда появится пара, я напишу сюда.\n\n/profile — ваш профиль, /help — все команды."
    )


def profile(user: dict[str, Any], hobbies: list[str], email: str | None) -> str:
    """/profile: names, hobbies, the pause, and where announcements go."""
    if not user.get("paused"):
        pause = "участвуете в подборе"
    elif user.get("paused_until"):
        pause = f"пауза до {_day(date.fromisoformat(str(user['paused_until'])))} включительно"
    else:
        pause = "пауза, пока вы её не снимете"
    # The user's choice where profile has one; by default a linked chat gets Telegram.
    channels = ", ".join(
        CHANNELS.get(c, escape(str(c))) for c in user.get("channels") or ["telegram"]
    )
    return "\n".join(
        [
            "<b>Ваш профиль UniMatch</b>",
            f"Имя: {escape(full_name(user['first_name'], user['last_name']))}",
            f"Увлечения: {escape(', '.join(hobbies)) or 'не выбраны'}",
            f"Подбор: {pause}",
            f"Почта: {escape(email) if email else 'не указана'}",
            f"Анонсы приходят: {channels}",
        ]
    )


def follow_up(partners: list[dict[str, Any]]) -> str:
    names = ", ".join(_name(p) for p in partners) or DELETED_USER
    return f"☕ Прошло несколько дней после подбора. Вы встретились ({names})?"


def block_button(person: dict[str, Any]) -> str:
    return label(f"🚫 Больше не подбирать: {full_name(person['first_name'], person['last_name'])}")


def blocked(person: dict[str, Any]) -> str:
    return f"Готово: {_name(person)} больше не попадёт к вам в пару. Собеседник об этом не узнает."
