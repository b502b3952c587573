"""The notifier's move to HTML messages: queued plain messages are escaped by the migration,
so they read the same; messages already sent are left as they were."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

import notifier_service
from unimatch_shared.settings import ServiceSettings

MIGRATIONS = Path(notifier_service.__file__).parent / "adapters" / "db" / "migrations"


def upgrade(settings: ServiceSettings, revision: str) -> None:
    engine = create_engine(
        settings.sqlalchemy_url, connect_args={"options": "-csearch_path=notifier"}
    )
    try:
        with engine.begin() as connection:
            connection.execute(text('CREATE SCHEMA IF NOT EXISTS "notifier"'))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            config.attributes["schema"] = "notifier"
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_queued_plain_messages_are_escaped_for_html(service_settings):
    settings = ServiceSettings(**service_settings)
    upgrade(settings, "0001")
    engine = create_engine(settings.sqlalchemy_url)
    plain = "Боб <bob> & Co"
    try:
        with engine.begin() as connection:
            for key, status in (("queued", "pending"), ("gone", "sent")):
                connection.execute(
                    text(
                        "INSERT INTO notifier.outgoing_message (idempotency_key, user_id,"
                        " chat_id, text, status, created_at) VALUES (:k, 1, 1, :t, :s, now())"
                    ),
                    {"k": key, "t": plain, "s": status},
                )
        upgrade(settings, "head")
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT idempotency_key, text FROM notifier.outgoing_message")
            ).all()
    finally:
        engine.dispose()
    assert dict(rows) == {"queued": "Боб &lt;bob&gt; &amp; Co", "gone": plain}
