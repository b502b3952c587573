"""Command-line entry points of the matching service."""
