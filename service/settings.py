"""Runtime configuration: one Settings object, every variable prefixed SETTLECHECK_."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"  # noqa: S105 - a marker, refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SETTLECHECK_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./settlecheck.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    redis_url: str | None = None
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10)
    cache_ttl_seconds: int = Field(default=300, ge=0, le=86_400)
    auth_cache_seconds: float = Field(default=10.0, ge=0, le=600)

    registry_url: AnyHttpUrl | None = None
    registry_connect_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    registry_read_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    registry_total_deadline_seconds: float = Field(default=2.0, gt=0, le=120)
    registry_retries: int = Field(default=1, ge=0, le=5)
    registry_breaker_failures: int = Field(default=5, ge=1, le=1000)
    registry_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    registry_token: SecretStr | None = None

    id_hash_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # /metrics answers an admin key, or this bearer token (a Prometheus scrape credential).
    metrics_token: SecretStr | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    rate_limit_per_minute: int = Field(default=6000, ge=0)
    # Longer than a load balancer's idle timeout (60 s is common): the side that closes an idle
    # connection must be the client, or a request sent on it as the server closes is lost.
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    # The plausible window for dates callers send (service/dates.py, docs/decisions/0012):
    # nothing happened before the floor, nor later than the server's clock plus the skew.
    earliest_event_date: date = date(2016, 1, 1)
    clock_skew_seconds: int = Field(default=300, ge=0, le=3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # After start-up, move what it built out of the garbage collector's reach (startup.py):
    # a worker serves with no ~110 ms full collection over objects that never die. Off in the
    # test suite, which starts an app per test and would keep each one's leftovers for good.
    gc_freeze: bool = True
    auto_migrate: bool | None = None
    # `roster import` warns when the file was extracted longer ago than this.
    roster_stale_after_days: int = Field(default=30, ge=1, le=3650)
    # Where callers reach the service; only printed (the demo banner). `settlecheck serve` sets it
    # from --host/--port unless it is set already (behind a proxy, set it to the proxy's URL).
    public_url: str = "http://127.0.0.1:8000"
    demo_data: bool | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+psycopg:// "
                "(the service speaks to SQLite and PostgreSQL only)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if self.id_hash_key.get_secret_value() == PLACEHOLDER_SECRET:
                raise ValueError(
                    "SETTLECHECK_ID_HASH_KEY must be set to a real secret in production"
                )
            if len(self.id_hash_key.get_secret_value()) < 16:
                raise ValueError("SETTLECHECK_ID_HASH_KEY must be at least 16 characters")
            if self.demo_data:
                raise ValueError(
                    "SETTLECHECK_DEMO_DATA is refused in production: demo data brings fixed "
                    "keys whose secrets are written in plain text beside the database"
                )
            if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
                raise ValueError("SETTLECHECK_METRICS_TOKEN must be at least 16 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https_only(self) -> bool:
        """Production is served over HTTPS only: cookies are Secure and answers carry HSTS (a
        newcomer's embedded default is plain HTTP on 127.0.0.1)."""
        return self.environment == "production"

    @property
    def embedded(self) -> bool:
        """The embedded default: SQLite and no Redis. It migrates itself and seeds demo data."""
        return self.is_sqlite and self.redis_url is None

    @property
    def should_auto_migrate(self) -> bool:
        return self.auto_migrate if self.auto_migrate is not None else self.is_sqlite

    @property
    def should_seed_demo(self) -> bool:
        if self.environment == "production":
            return False
        return self.demo_data if self.demo_data is not None else self.embedded


def load_settings() -> Settings:
    """Read the environment; invalid values stop the process with the variable's name."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"SETTLECHECK_{field.upper()}" if err["loc"] else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise SystemExit("invalid configuration:\n  " + "\n  ".join(lines)) from None
