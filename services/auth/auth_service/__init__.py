"""The auth service: who you are. Accounts, Argon2id password hashes, session tokens."""
