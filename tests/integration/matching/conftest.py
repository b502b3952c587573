"""Fixtures for the matching service's integration tests: each test gets its own database
(so rounds and history start empty) and its own event prefix."""

import pytest

from matching_service.settings import MatchingSettings


@pytest.fixture
def matching_settings(service_settings) -> MatchingSettings:
    return MatchingSettings(**service_settings)
