import ipaddress

from auth_service.domain.throttle import Network
from unimatch_shared.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    port: int = 8101
    unimatch_admin_email: str | None = None
    unimatch_admin_password: str | None = None
    # Peers whose X-Real-IP header names the client (the gateway); comma-separated networks.
    trusted_proxies: str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

    @property
    def trusted_networks(self) -> list[Network]:
        return [ipaddress.ip_network(net.strip()) for net in self.trusted_proxies.split(",")]
