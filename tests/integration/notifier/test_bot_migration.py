"""The notifier's move to HTML messages: queued plain messages are escaped by the migration,
so they read the same; messages already sent are left as they were."""

from sqlalchemy import create_engine, text

from unimatch_shared.db import migrations_of, run_migrations
from unimatch_shared.settings import ServiceSettings

MIGRATIONS = migrations_of("notifier")


def test_queued_plain_messages_are_escaped_for_html(service_settings):
    settings = ServiceSettings(**service_settings)
    run_migrations(settings, "notifier", MIGRATIONS, "0001")
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
        run_migrations(settings, "notifier", MIGRATIONS)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT idempotency_key, text FROM notifier.outgoing_message")
            ).all()
    finally:
        engine.dispose()
    assert dict(rows) == {"queued": "Боб &lt;bob&gt; &amp; Co", "gone": plain}
