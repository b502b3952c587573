"""Auth consumes no events and answers no requests: it emits ``user.registered`` through its
outbox, and keeps the shared session store (``unimatch_shared.sessions``) current."""
