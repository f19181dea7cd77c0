"""One Settings object, read from `TRACKER_*` environment variables (and nothing else)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The database URLs tracker runs on (TRACKER_DATABASE_URL).
SUPPORTED_SCHEMES = ("sqlite:///PATH", "postgresql+psycopg://USER@HOST:PORT/DATABASE")
_SUPPORTED_DRIVERS = ("sqlite", "postgresql", "postgresql+psycopg")


class Settings(BaseSettings):
    """tracker's configuration; every field is documented in the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="TRACKER_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/tracker.db",
        description="SQLite file (sqlite:///path) or PostgreSQL (postgresql+psycopg://...).",
    )
    env: Literal["development", "production"] = "development"
    log_format: Literal["console", "json"] | None = Field(
        default=None, description="Default: console in development, json in production."
    )
    log_level: str = "INFO"
    timezone: str = Field(
        default="Europe/Paris", description="The labs' calendar: 'today' for business dates."
    )
    snapshot_interval: int = Field(default=50, ge=1, description="Snapshot every N events.")
    # Two API processes on one project race for its versions; under 32 clients on 5
    # projects, 5 attempts let about 1 command in 300 lose every race (a 503): at 10,
    # each costing a fast-forwarded reload, none did (tests/reliability/test_contention.py).
    command_retries: int = Field(
        default=10, ge=1, description="Attempts for a command whose version conflicts."
    )
    pool_size: int = Field(default=10, ge=1, description="Database connections per process.")
    lock_timeout_seconds: int = Field(
        default=10, ge=1, description="How long a write waits for the event store's lock."
    )
    group_commit: bool = Field(
        default=True, description="Save concurrent commands on different projects together."
    )
    group_commit_max_batch: int = Field(default=64, ge=1, le=1000)
    aggregate_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Projects kept in memory between commands (fast-forwarded from the store "
        "on every read, so other processes' writes are seen); 0 turns the cache off.",
    )
    principal_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process remembers an authenticated token (0: read it on "
        "every request); a revocation from another process takes effect within this.",
    )
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    idempotency_lease_seconds: int = Field(
        default=300,
        ge=1,
        description="After this, a pending Idempotency-Key left by a crash may be taken over.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    min_position_timeout_seconds: float = Field(default=5.0, gt=0)
    projection_poll_seconds: float = Field(default=0.05, gt=0)
    projection_batch_size: int = Field(default=500, ge=1)
    projection_live_batch_size: int = Field(
        default=100, ge=1, description="Events per batch once a projector has caught up."
    )
    rebuild_processes: int | None = Field(
        default=None,
        ge=1,
        description="Processes a PostgreSQL rebuild of 50,000 events or more runs in "
        "(default: one per core).",
    )
    readiness_max_lag_events: int = Field(default=1000, ge=0)
    cors_origins: str = Field(
        default="",
        description="Browser origins allowed to call the API and GraphQL, comma-separated "
        "(https://dashboard.example.fr); empty: no cross-origin calls.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        scheme = url.partition("://")[0]
        if scheme not in _SUPPORTED_DRIVERS:
            raise ValueError(
                f"unsupported database URL scheme {scheme!r}: use {' or '.join(SUPPORTED_SCHEMES)}"
            )
        return url

    audit_signing_key_file: Path | None = Field(
        default=None,
        description="The Ed25519 private key that signs checkpoints and heads (made by "
        "`tracker audit keygen`; keep it outside the database). Unset: history unsigned.",
    )
    audit_head_signing_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A save signs the log's head when the latest signed head is this old.",
    )
    # Webhooks (docs/webhooks.md).
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts, addresses or networks (CIDR) that webhooks may reach although "
        "they are loopback, private, link-local or reserved (refused otherwise); a JSON list.",
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long a delivery waits for the receiver's answer."
    )
    webhook_poll_seconds: float = Field(
        default=0.2, gt=0, description="How often the deliverer looks for new events."
    )
    webhook_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="The first retry's delay; each next one doubles it."
    )
    webhook_retry_max_seconds: float = Field(
        default=600.0, gt=0, description="The longest delay between two attempts."
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, description="Failed attempts in a row after which a webhook pauses."
    )
    webhook_batch_size: int = Field(
        default=100, ge=1, description="Events read per subscription and turn."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web pages' session cookies (docs/web.md); unset: generated "
        "at first start into var/session_secret.",
    )
    session_hours: int = Field(
        default=8, ge=1, le=24 * 30, description="How long a web sign-in lasts."
    )
    oidc_discovery_url: str | None = Field(
        default=None,
        description="The OpenID Connect provider's discovery document "
        "(…/.well-known/openid-configuration); unset: no provider sign-in (docs/web.md).",
    )
    oidc_client_id: str | None = Field(
        default=None, description="tracker's client id at the OpenID Connect provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="tracker's client secret at the OpenID Connect provider."
    )
    oidc_scopes: str = Field(
        default="openid email profile",
        description="The scopes asked for; ProConnect: `openid given_name usual_name email siret`.",
    )
    oidc_provider_name: str = Field(
        default="ProConnect", description="The provider's name on the sign-in button."
    )
    public_url: str | None = Field(
        default=None,
        description="The address people reach tracker at (https://…), for the provider's "
        "redirect and sign-out addresses; unset: taken from each request.",
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def effective_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "console"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def cors_origin_list(self) -> list[str]:
        """`cors_origins` as a list (blank entries dropped)."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
