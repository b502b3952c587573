from unimatch_shared.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    port: int = 8101
    unimatch_admin_email: str | None = None
    unimatch_admin_password: str | None = None
