"""Services listen on loopback unless configured by name (issue 14): a peer that reaches a
service directly, around the gateway, could set X-Real-IP and choose its throttling address."""

import pytest
from pydantic import ValidationError

from auth_service.domain.throttle import client_address
from auth_service.settings import AuthSettings
from unimatch_shared.settings import ServiceSettings
from unimatch_stack.supervisor import Stack


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("HOST", "UNIMATCH_HOST", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)


def test_a_service_listens_on_loopback_by_default():
    assert ServiceSettings().host == "127.0.0.1"


def test_a_stray_host_variable_does_not_widen_it(monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert ServiceSettings().host == "127.0.0.1"


def test_the_named_setting_does(monkeypatch):
    monkeypatch.setenv("UNIMATCH_HOST", "0.0.0.0")
    assert ServiceSettings().host == "0.0.0.0"


def test_make_run_passes_no_listen_address_of_its_own(monkeypatch, tmp_path):
    """The supervisor once set HOST=127.0.0.1 under the parent's environment, so an exported
    HOST won; now the services' own default holds."""
    monkeypatch.setenv("HOST", "0.0.0.0")
    stack = Stack(tmp_path, "postgresql://u@127.0.0.1/db", "nats://127.0.0.1:4222")
    for process in stack.processes.values():
        if process.name != "gateway":
            for name, value in process.env.items():
                monkeypatch.setenv(name, value)
            assert AuthSettings().host == "127.0.0.1"


def test_only_loopback_peers_may_name_the_client_by_default():
    trusted = AuthSettings().trusted_networks
    assert client_address("127.0.0.1", "203.0.113.7", trusted) == "203.0.113.7"
    # A neighbour on a private network calling auth directly cannot choose its address.
    assert client_address("10.1.2.3", "203.0.113.7", trusted) == "10.1.2.3"
    assert client_address("192.168.1.5", "203.0.113.7", trusted) == "192.168.1.5"


def test_trusted_proxies_are_comma_separated_networks(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, fc00::/7,192.0.2.1")
    trusted = AuthSettings().trusted_networks
    assert [str(network) for network in trusted] == ["10.0.0.0/8", "fc00::/7", "192.0.2.1/32"]


@pytest.mark.parametrize("value", ["10.0.0.0/33", "gateway", "10.0.0.1/8", "10.0.0.0/8,"])
def test_a_bad_trusted_proxy_refuses_the_start_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        AuthSettings()
