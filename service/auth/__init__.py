"""Who is calling: the principal and its role. The FastAPI dependencies that resolve a caller
live in service.auth.deps (importing them here would tie every store to the web layer)."""

from service.auth.principal import Principal, Role

__all__ = ["Principal", "Role"]
