"""The hobby catalog, served from memory with validators so clients and proxies cache it.

The catalog changes only with a migration, which runs when the service starts; so each worker
reads it once at start-up and answers ``GET /users/api/hobby/all`` without the database.
"""

import hashlib

from fastapi import Response

# Short enough that a sign-up form sees a new migration's hobbies within minutes; the ETag
# makes every revalidation after that a body-less 304.
CACHE_CONTROL = "public, max-age=300"


class HobbyCatalog:
    def __init__(self) -> None:
        self._body = b""
        self._etag = ""

    def load(self, body: str) -> None:
        self._body = body.encode()
        self._etag = f'"{hashlib.sha256(self._body).hexdigest()[:32]}"'

    def response(self, if_none_match: str | None) -> Response:
        headers = {"ETag": self._etag, "Cache-Control": CACHE_CONTROL}
        if if_none_match and self._matches(if_none_match):
            return Response(status_code=304, headers=headers)
        return Response(self._body, media_type="application/json", headers=headers)

    def _matches(self, if_none_match: str) -> bool:
        """RFC 9110 weak comparison: ``*``, or any listed tag, ``W/`` or not."""
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self._etag in tags
