"""Read-only views for the hot GET endpoints, in raw SQL on the runtime's read pool.

As in the "Cosmic Python" book's views: reads need neither the ORM nor a transaction. Each
view is one prepared statement in autocommit mode, and where the answer is a plain
projection of rows PostgreSQL builds the JSON itself, so Python passes the text through.
"""

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# An instant as the API shows it, whatever the session's time zone: UTC, microseconds, "Z"
# (``INSTANT_FORMAT`` is the same in Python).
_INSTANT = """to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The caller's answer about the match's group, or null ({m} is the match row's alias).
_FEEDBACK = f"""(SELECT json_build_object(
    'met', f.met, 'rating', f.rating, 'comment', f.comment,
    'answered_at', {_INSTANT.format(column="f.answered_at")})
    FROM meeting_answer f
    WHERE f.user_id = {{m}}.user_id AND f.round_id = {{m}}.round_id
      AND f.group_id = {{m}}.group_id)"""

# Newest first; one entry per partner (a trio gives two). ``created_at::date`` is the
# round's date in the server's time zone, as the ORM read it before.
_HISTORY = f"""
SELECT coalesce(json_agg(json_build_object(
           'id', m.id,
           'partner', json_build_object(
               'id', m.partner_id,
               'first_name', m.partner_first_name,
               'last_name', m.partner_last_name,
               'email', m.partner_email,
               'telegram_username', p.telegram_username),
           'created_at', m.created_at::date,
           'common_hobbies', m.shared_hobbies,
           'feedback', {_FEEDBACK.format(m="m")})
       ORDER BY m.created_at DESC, m.id DESC), '[]')::text
FROM match m LEFT JOIN profile p ON p.user_id = m.partner_id
WHERE m.user_id = %s
"""

_TAGS = """
SELECT coalesce(json_agg(h.name ORDER BY h.id), '[]')::text
FROM profile_hobby ph JOIN hobby h ON h.id = ph.hobby_id
WHERE ph.user_id = %s
"""

_PROFILE = """
SELECT p.user_id, p.email, p.first_name, p.last_name, p.age, p.chat_id, p.paused,
       p.paused_until, p.confirmed, p.birth, p.tg_link, p.channels, p.pending_email,
       p.pending_email_until,
       array(SELECT hobby_id FROM profile_hobby WHERE user_id = p.user_id ORDER BY hobby_id)
           AS hobby
FROM profile p WHERE p.user_id = %s
"""

_CATALOG = """
SELECT coalesce(json_agg(json_build_object('id', id, 'name', name) ORDER BY id), '[]')::text
FROM hobby
"""


async def _one(reads: AsyncConnectionPool, query: str, *params: object, row_factory=None):
    async with reads.connection() as connection:
        cursor = connection.cursor(row_factory=row_factory) if row_factory else connection
        return await (await cursor.execute(query, params)).fetchone()


async def match_history_json(reads: AsyncConnectionPool, user_id: int) -> str:
    """``GET /users/api/pairs``'s body."""
    return (await _one(reads, _HISTORY, user_id))[0]


async def tags_json(reads: AsyncConnectionPool, user_id: int) -> str:
    """``GET /users/api/tags``'s body: hobby names by hobby id."""
    return (await _one(reads, _TAGS, user_id))[0]


async def catalog_json(reads: AsyncConnectionPool) -> str:
    """The whole hobby catalog by id, as ``GET /users/api/hobby/all`` answers it."""
    return (await _one(reads, _CATALOG))[0]


async def profile_fields(reads: AsyncConnectionPool, user_id: int) -> dict | None:
    """A profile's columns, with its hobby ids as ``hobby``; None if there is none."""
    return await _one(reads, _PROFILE, user_id, row_factory=dict_row)


_HOBBY_OBJECTS = """coalesce((
    SELECT json_agg(json_build_object('id', h.id, 'name', h.name) ORDER BY h.id)
    FROM profile_hobby ph JOIN hobby h ON h.id = ph.hobby_id WHERE ph.user_id = {user}), '[]')"""

_WEB_USER = f"""
SELECT p.user_id AS id, p.first_name, p.last_name, p.email, p.birth, p.chat_id,
       NULL AS image, {_HOBBY_OBJECTS.format(user="p.user_id")} AS hobby, p.tg_link,
       p.channels,
       CASE WHEN p.pending_email_until > now() THEN p.pending_email END AS pending_email
FROM profile p WHERE p.user_id = %s
"""

_HOBBY_TOTAL = f"""
SELECT json_build_object(
    'user_tags', {_HOBBY_OBJECTS.format(user="%s")},
    'all_tags', coalesce((SELECT json_agg(json_build_object('id', id, 'name', name) ORDER BY id)
                          FROM hobby), '[]'))::text
"""

# Newest first; within a round (a trio) by entry id. The partner as they were at the round,
# with their hobbies and Telegram nick as they are now.
_WEB_MATCHES = f"""
SELECT (SELECT max(round_id) FROM match) AS latest_round,
       coalesce(json_agg(json_build_object(
           'id', m.id,
           'round_id', m.round_id,
           'partner', json_build_object(
               'id', m.partner_id,
               'first_name', m.partner_first_name,
               'last_name', m.partner_last_name,
               'email', m.partner_email,
               'tg_link', coalesce(p.tg_link, ''),
               'hobby', {_HOBBY_OBJECTS.format(user="m.partner_id")}),
           'created_at', m.created_at::date,
           'feedback', {_FEEDBACK.format(m="m")})
       ORDER BY m.created_at DESC, m.round_id DESC, m.id), '[]') AS matches
FROM match m LEFT JOIN profile p ON p.user_id = m.partner_id
WHERE m.user_id = %s
"""


async def web_user(reads: AsyncConnectionPool, user_id: int) -> dict | None:
    """``GET /api/auth/users/me``'s body, ``channels`` as chosen (None: never chosen); None if
    there is no profile."""
    return await _one(reads, _WEB_USER, user_id, row_factory=dict_row)


async def hobby_total_json(reads: AsyncConnectionPool, user_id: int) -> str:
    """``GET /api/hobby/total``'s body: the user's hobbies and the whole catalog."""
    return (await _one(reads, _HOBBY_TOTAL, user_id))[0]


async def web_matches(reads: AsyncConnectionPool, user_id: int) -> tuple[int | None, list[dict]]:
    """The latest round anyone was matched in, and the user's matches (with ``round_id``)."""
    latest_round, matches = await _one(reads, _WEB_MATCHES, user_id)
    return latest_round, matches


# Newest first; names as the partner had them at their latest match with the caller.
_BLOCKS = f"""
SELECT coalesce(json_agg(json_build_object(
           'user_id', b.blocked_user_id,
           'first_name', coalesce(m.partner_first_name, ''),
           'last_name', coalesce(m.partner_last_name, ''),
           'created_at', {_INSTANT.format(column="b.changed_at")})
       ORDER BY b.changed_at DESC, b.blocked_user_id), '[]')::text
FROM partner_block b LEFT JOIN LATERAL (
    SELECT partner_first_name, partner_last_name FROM match
    WHERE user_id = b.user_id AND partner_id = b.blocked_user_id
    ORDER BY created_at DESC, id DESC LIMIT 1) m ON true
WHERE b.user_id = %s AND b.blocked
"""


async def blocks_json(reads: AsyncConnectionPool, user_id: int) -> str:
    """``GET /users/api/blocks``'s body."""
    return (await _one(reads, _BLOCKS, user_id))[0]
