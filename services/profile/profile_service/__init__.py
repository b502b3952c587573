"""The profile service: who people are to each other. Names, hobbies, pause state, and the
history of their matches (a read model of matching's ``pair.created`` events)."""
