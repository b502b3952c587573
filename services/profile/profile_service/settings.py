from unimatch_shared.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    port: int = 8102
    # A profile stored during sign-up whose account never committed is removed after this.
    unconfirmed_profile_ttl_seconds: int = 3600
