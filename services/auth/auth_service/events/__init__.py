"""Auth consumes no events: it emits ``user.registered`` through its outbox, and keeps the
shared session store (``unimatch_shared.sessions``) current — including renewing sessions
that other services report in use (``SessionSeen``, handlers.py)."""
