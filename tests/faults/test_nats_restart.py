"""NATS SIGKILLed and restarted (same port, same JetStream store) while sign-ups stream in and
a staff round's ``pair.created`` events are on their way (the traffic and what must hold
afterwards: nats_traffic.py).
"""

import time

import pytest

from tests.faults.conftest import fault_system
from tests.faults.nats_traffic import traffic_through_a_fault

DOWN_SECONDS = 4.0


@pytest.fixture(scope="module")
def system(var_dir):
    with fault_system(var_dir) as running:
        yield running


def test_nats_killed_and_restarted_mid_traffic(system, report):
    port = system.nats.port

    def restart() -> None:
        time.sleep(DOWN_SECONDS)
        system.nats.start()
        assert system.nats.port == port

    traffic_through_a_fault(system, report, "nats-restart", system.nats.kill, restart)
