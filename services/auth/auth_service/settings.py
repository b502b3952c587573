import ipaddress

from pydantic import Field

from auth_service.domain.throttle import Network
from unimatch_shared.settings import ServiceSettings, default_workers


class AuthSettings(ServiceSettings):
    port: int = 8101
    unimatch_admin_email: str | None = None
    unimatch_admin_password: str | None = None
    # Peers whose X-Real-IP header names the client (the gateway); comma-separated networks.
    # Loopback, where `make run` puts the gateway; compose names its private network.
    trusted_proxies: str = "127.0.0.0/8,::1/128"
    # Password hashing (adapters/hashing.py): threads per worker process (default: the CPUs
    # shared out among the workers), how long a login may take to get a thread and hash
    # before it is answered 503, and how much lower than the rest of the process their CPU
    # priority is (nice, 0-19).
    password_hash_threads: int | None = Field(default=None, ge=1)
    password_hash_budget_seconds: float = Field(default=1.0, gt=0)
    password_hash_niceness: int = Field(default=10, ge=0, le=19)
    # The device cookie a successful login sets (docs/adr/009): how long a device stays
    # trusted after its last login, and whether the cookie is sent over HTTPS only (browsers
    # also send Secure cookies to http://localhost).
    login_device_days: int = Field(default=180, ge=1)
    login_device_cookie_secure: bool = True

    @property
    def trusted_networks(self) -> list[Network]:
        return [ipaddress.ip_network(net.strip()) for net in self.trusted_proxies.split(",")]

    @property
    def hashing_threads(self) -> int:
        if self.password_hash_threads:
            return self.password_hash_threads
        return max(1, default_workers() // self.workers)
