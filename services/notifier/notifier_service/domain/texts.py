"""Everything the bot says, in Russian. Plain text (no parse mode), so names need no escaping."""

from datetime import date, datetime
from typing import Any

COMMANDS = {
    "start": "Начать и привязать аккаунт",
    "pair": "Текущая пара",
    "next": "Когда следующий подбор",
    "history": "История встреч",
    "pause": "Пауза в подборе (можно с датой: /pause 2025-06-01)",
    "resume": "Вернуться в подбор",
    "help": "Справка",
}

HELP = "UniMatch раз в неделю подбирает вам собеседника для встречи за кофе.\n\n" + "\n".join(
    f"/{name} — {description}" for name, description in COMMANDS.items()
)
NOT_LINKED = (
    "Привет! Я бот UniMatch. Этот чат пока не привязан к аккаунту UniMatch. "
    "Откройте профиль в UniMatch и нажмите "
    "«Привязать Telegram»: вы получите ссылку на этого бота, перейдите по ней."
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
UNAVAILABLE = "Сервис временно недоступен, попробуйте чуть позже."
HISTORY_LIMIT = 10


def _day(moment: date | datetime) -> str:
    return moment.strftime("%d.%m.%Y")


def _name(person: dict[str, Any]) -> str:
    return f"{person['first_name']} {person['last_name']}".strip() or person["email"]


def _contact(person: dict[str, Any]) -> str:
    """Telegram where the partner linked it, else email."""
    if person.get("username"):
        return f"Telegram: @{person['username']}"
    return f"почта: {person['email']}"


def _group(partners: list[dict[str, Any]], shared_hobbies: list[str]) -> list[str]:
    lines = [f"• {_name(p)} — {_contact(p)}" for p in partners]
    if shared_hobbies:
        lines.append(f"Общие увлечения: {', '.join(shared_hobbies)}.")
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
    hello = f"Привет, {first_name}!" if first_name else "Привет!"
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
    return f"Следующий подбор пар — {at}.\nОсталось: {days} дн. {hours} ч. {minutes} мин."


def paused(until: date | None) -> str:
    when = f" до {_day(until)} включительно" if until else ", пока не отправите /resume"
    return f"Пауза включена: вы не участвуете в подборе пар{when}."
