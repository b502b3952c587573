"""UniMatch's shared plumbing. No business logic lives here: only what every service needs
the same way (settings, event schemas, the outbox and inbox, HTTP and error conventions)."""
