"""Hobby catalog (seeded), profiles, hobbies, match history, outbox and inbox."""

import sqlalchemy as sa
from alembic import op

from unimatch_shared import migrations as shared

revision = "0001"
down_revision = None

# Ids 1-5 are the original API document's (docs/api.md, All hobbies); the rest follow.
# Never renumber: ids are in every client.
HOBBIES = [
    "Программирование",
    "Спорт",
    "Рисование",
    "Литература",
    "Музыка",
    "Кино",
    "Путешествия",
    "Фотография",
    "Настольные игры",
    "Видеоигры",
    "Кулинария",
    "Танцы",
    "Театр",
    "Йога",
    "Бег",
    "Футбол",
    "Баскетбол",
    "Шахматы",
    "Иностранные языки",
    "Наука",
    "История",
    "Психология",
    "Бизнес",
    "Волонтёрство",
    "Аниме",
    "Походы",
    "Велоспорт",
    "Плавание",
    "Дизайн",
    "Мода",
    "Гитара",
    "Пение",
    "Поэзия",
    "Философия",
    "Рукоделие",
    "Садоводство",
    "Животные",
    "Стартапы",
    "Астрономия",
    "Математика",
]


def upgrade() -> None:
    hobby = op.create_table(
        "hobby",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
    )
    op.bulk_insert(hobby, [{"id": i, "name": name} for i, name in enumerate(HOBBIES, start=1)])
    op.create_table(
        "profile",
        shared.given_key("user_id"),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("first_name", sa.String(150), nullable=False, server_default=""),
        sa.Column("last_name", sa.String(150), nullable=False, server_default=""),
        sa.Column("age", sa.Integer, nullable=True),
        sa.Column("chat_id", sa.String(32), nullable=True),
        sa.Column("telegram_username", sa.String(64), nullable=True),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("paused_until", sa.Date, nullable=True),
        sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
        shared.timestamp("created_at"),
    )
    op.create_table(
        "profile_hobby",
        shared.cascading_reference("user_id", "profile.user_id", primary_key=True),
        sa.Column("hobby_id", sa.Integer, sa.ForeignKey("hobby.id"), primary_key=True),
    )
    op.create_table(
        "match",
        shared.identity_key(),
        sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("partner_id", sa.BigInteger, nullable=False),
        sa.Column("partner_first_name", sa.String(150), nullable=False),
        sa.Column("partner_last_name", sa.String(150), nullable=False),
        sa.Column("partner_email", sa.String(254), nullable=False),
        sa.Column("round_id", sa.BigInteger, nullable=False),
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("shared_hobbies", sa.JSON, nullable=False),
        shared.timestamp("created_at"),
        sa.UniqueConstraint("group_id", "user_id", "partner_id"),
    )
    shared.create_messaging_tables()


def downgrade() -> None:
    shared.drop_messaging_tables()
    for table in ("match", "profile_hobby", "profile", "hobby"):
        op.drop_table(table)
