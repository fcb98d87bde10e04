"""One typed settings object, built once at start-up and passed down (env prefix ``VIGIL_``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigil.core.identities import check_service_name


class Settings(BaseSettings):
    """Everything Vigil reads from its environment.

    With no ``database_url`` Vigil starts its own PostgreSQL+TimescaleDB cluster under
    ``state_dir``; with no ``mqtt_url`` its own Mosquitto; with no ``nats_url`` its own NATS server
    with JetStream. With URLs it uses the servers given.
    """

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=None, extra="ignore")

    state_dir: Path = Field(default=Path(".vigil"), description="Embedded servers' data and logs")
    demo_state_dir: Path = Field(
        default=Path(".vigil-demo"),
        description="`vigil demo`'s own state folder, recreated on every demo run",
    )
    database_url: str | None = Field(default=None, description="postgresql:// URL; None = embedded")
    mqtt_url: str | None = Field(
        default=None, description="mqtt://user:password@host:port of the broker; None = embedded"
    )
    nats_url: str | None = Field(
        default=None,
        description="nats://user:password@host:port of the NATS JetStream server (several,"
        " comma-separated, for a cluster); None = embedded",
    )
    nats_server_bin: Path | None = Field(
        default=None,
        description="The nats-server binary for the embedded server (2.10 or later); None = the"
        " one installed in the virtual environment",
    )
    mqtt_client_id: str = Field(
        default="vigil-ingest",
        description="Fixed client id (and broker user) of this ingest instance; "
        "persistent session, so it must be stable across restarts. Must begin with 'vigil-' "
        "or 'vigil_', the service namespace no device id can take",
    )
    mqtt_password: SecretStr | None = Field(default=None, description="Ingest user's password")
    mqtt_shared_group: str | None = Field(
        default=None,
        description="MQTT 5 shared-subscription group, for several ingest instances; unset "
        "(the single-instance default), ingest subscribes directly: a persistent non-shared "
        "subscription, which Mosquitto restores after a restart and queues for while ingest is "
        "away (it does not restore shared ones: docs/ingest.md)",
    )
    mqtt_device_host: str = Field(
        default="127.0.0.1",
        description="Address the embedded broker's device listener binds to; any but a"
        " loopback address needs the device TLS pair (devices' passwords and readings never"
        " cross a network in clear text)",
    )
    mqtt_device_tls_certfile: Path | None = Field(
        default=None,
        description="PEM certificate (chain): the embedded broker's device listener speaks"
        " MQTT over TLS only (TLS 1.2 or later)",
    )
    mqtt_device_tls_keyfile: Path | None = Field(default=None, description="Its PEM private key")
    mqtt_receive_maximum: int = Field(
        default=65_535,
        ge=1,
        le=65_535,
        description="Unacknowledged messages the broker may send ingest (MQTT 5 Receive"
        " Maximum). Large, so a flooding device's backlog waits in ingest's per-device queues"
        " instead of ahead of other devices in the broker's single queue (docs/ingest.md)",
    )
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    mqtt_edge: Literal["mosquitto", "nats"] | None = Field(
        default=None,
        description="What devices connect to: the NATS server's MQTT listener (MQTT 3.1.1; a"
        " PUBACK only once the message is in a JetStream stream: docs/ingest.md, The NATS"
        " edge) or a Mosquitto broker; None: nats, unless a broker URL is given",
    )

    ingest_processes: int = Field(
        default=1,
        ge=1,
        description="Ingest processes `vigil serve` and `vigil ingest` run on the NATS edge (they"
        " share its capture consumer; one process stays under one core); 1 on Mosquitto. Each"
        " keeps its own per-device rate limits, with a share of the rate and burst (see"
        " ingest_rate_shares), so together they allow a device no more than one would",
    )
    ingest_rate_shares: int = Field(
        default=0,
        ge=0,
        description="How many ingest processes share each device's rate limit: each admits"
        " rate/N a second and burst/N at once, so N of them together admit no more than the"
        " limit (messages reach whichever process pulls next, evenly over time). 0: the"
        " processes `vigil serve` or `vigil ingest` runs (ingest_processes); set it to the"
        " total when ingest runs on several machines",
    )
    ingest_batch_max: int = Field(default=500, ge=1, description="Messages per transaction")
    ingest_batch_target_ms: int = Field(
        default=100,
        ge=0,
        description="How long a batch should take: batches shrink below ingest_batch_max when"
        " messages cost more (a busy machine, a flood), so a quiet device's reading never"
        " waits long behind the batch under way; 0 always takes ingest_batch_max",
    )
    ingest_inbox_max_messages: int = Field(
        default=100_000,
        ge=1,
        description="Messages received and not yet stored that ingest holds; past it (or the"
        " byte cap) receiving pauses and the broker holds the rest",
    )
    ingest_inbox_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=2 * 1024 * 1024,
        description="Bytes of received, not yet stored messages ingest holds (payload, topic"
        " and 256 bytes each)",
    )
    ingest_batch_wait_ms: int = Field(
        default=20,
        ge=0,
        description="Max wait to fill a batch, after a batch of more than one message (a lone"
        " reading goes at once)",
    )
    ingest_retry_max_s: float = Field(default=10.0, gt=0, description="Back-off ceiling")
    ingest_future_tolerance_s: int = Field(
        default=600, ge=0, description="How far in the future a device clock may be"
    )
    ingest_max_age_days: int = Field(default=365, ge=1, description="Oldest reading accepted")
    ingest_max_message_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_048_576,
        description="Largest payload ingest stores readings from (the contract's 1 MiB at most);"
        " a larger one is kept as rejected (kind too_large)",
    )
    ingest_max_readings: int = Field(
        default=10_000,
        ge=1,
        le=10_000,
        description="Most readings in one message (the contract's 10,000 at most); more is kept"
        " as rejected (kind too_large)",
    )
    ingest_device_rate_per_s: float = Field(
        default=5.0,
        ge=0,
        description="Messages a second one device may send, sustained (0: no limit). A CGM sends"
        " every 1-5 min, a wearable about 1/s (a few metrics, maybe one message each); a"
        " backlog recorded at the device's pace is not limited (docs/ingest.md). Beyond it,"
        " messages are kept as rejected (rate_limited)",
    )
    ingest_device_burst: int = Field(
        default=600,
        ge=1,
        description="Messages one device may send at once above its rate before it is limited",
    )

    stream_name: str = Field(
        default="vigil",
        pattern=r"^[a-z][a-z0-9_-]{0,31}$",
        description="Names the readings stream and its subjects (several deployments can share"
        " one NATS cluster)",
    )
    stream_partitions: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Partitions of the readings stream (patients are hashed onto them); fixed"
        " for the life of a stream",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Copies of the readings stream in a NATS cluster"
    )
    stream_max_age_days: float = Field(
        default=15, gt=0, description="How long the readings stream keeps readings"
    )
    stream_duplicate_window_s: float = Field(
        default=24 * 3600,
        gt=0,
        description="A re-publish of the same readings within this window is dropped",
    )
    detect_workers: int | None = Field(
        default=None,
        ge=1,
        description="Deprecated and ignored: JetStream hands each partition to one worker",
    )
    detect_ordinal: int | None = Field(
        default=None,
        ge=0,
        description="Deprecated and ignored: workers need no number",
    )
    detect_pin_timeout_s: float = Field(
        default=10.0,
        ge=1,
        le=300,
        description="A partition whose worker made no pull for this long goes to another worker",
    )
    detect_batch_max: int = Field(
        default=500, ge=1, description="Stream messages a detect worker applies per transaction"
    )
    detect_restore_days: float = Field(
        default=14, ge=0, description="History replayed into the detectors when a worker starts"
    )
    fault_point: str | None = Field(
        default=None, description="Tests only: a named point where the process kills itself"
    )
    fault_skip: int = Field(default=0, ge=0, description="Tests only: passes before the fault")
    stop_grace_s: float = Field(
        default=30.0,
        gt=0,
        description="`vigil ingest`/`detect`: seconds a stop may take before exiting hard",
    )

    retention_days: int | None = Field(default=None, description="Drop readings older than this")

    alert_escalate_after_s: int = Field(
        default=900, ge=60, description="A critical alert not acknowledged by then escalates"
    )
    alert_quiet_period_s: int = Field(
        default=1800,
        ge=0,
        description="A finding this soon after its cause's alert was resolved reopens it",
    )
    alert_seen_critical_hold_s: int = Field(
        default=1800,
        ge=0,
        description="A seen critical alert stays this long after acknowledgement, even when "
        "its episode is over",
    )
    webhook_max_attempts: int = Field(default=6, ge=1, description="Then the delivery is dead")
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// webhook URLs (development only)"
    )
    webhook_allow_loopback: bool = Field(
        default=False,
        description="Accept webhooks to this machine (127.0.0.0/8, ::1): tests and development",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_tls_certfile: Path | None = Field(
        default=None, description="PEM certificate (chain): serve the API over TLS only"
    )
    api_tls_keyfile: Path | None = Field(default=None, description="Its PEM private key")
    nightscout_public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="The address patients' uploader apps reach Vigil at (https://vigil.example.org),"
        " given in each device's Nightscout URL; unset, the API's own scheme, host and port",
    )
    nightscout_max_body_bytes: int = Field(
        default=8_000_000,
        ge=1024,
        description="Largest Nightscout upload once gunzipped (413 past it: a gzip bomb stops"
        " there); the request as sent is bounded by api_max_body_bytes",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.api_tls_certfile is None) != (self.api_tls_keyfile is None):
            raise ValueError(
                "set both VIGIL_API_TLS_CERTFILE and VIGIL_API_TLS_KEYFILE, or neither"
            )
        if (self.mqtt_device_tls_certfile is None) != (self.mqtt_device_tls_keyfile is None):
            raise ValueError(
                "set both VIGIL_MQTT_DEVICE_TLS_CERTFILE and VIGIL_MQTT_DEVICE_TLS_KEYFILE,"
                " or neither"
            )
        if self.mqtt_device_tls_certfile is None and not _loopback(self.mqtt_device_host):
            raise ValueError(
                f"VIGIL_MQTT_DEVICE_HOST={self.mqtt_device_host} is reachable from other"
                " machines: set VIGIL_MQTT_DEVICE_TLS_CERTFILE and _KEYFILE so that devices"
                " connect over TLS, or keep it on 127.0.0.1"
            )
        return self

    clinic_time_zone: str = Field(
        default="Asia/Seoul",
        description="The clinic's time zone (IANA name): the pages show times in it, named",
    )
    api_read_cache_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long the alert inbox and a care team's latest vitals may be served"
        " from a process's cache; a change made through the API or to any alert drops it at"
        " once; 0 turns it off",
    )
    api_chart_cache_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="The same for readings rollups (the charts); new readings of the patient"
        " drop theirs at once",
    )

    api_max_body_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest request body accepted (413 past it, before it is read)",
    )

    api_sign_in_free_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins to one account from one address before each further"
        " attempt must wait (1 s, doubling per failure; 429 with Retry-After)",
    )
    api_sign_in_max_delay_s: float = Field(
        default=300.0, ge=1, le=3600, description="The longest such wait"
    )

    api_openapi: bool = Field(
        default=False, description="Serve the OpenAPI document at /api/v1/openapi.json"
    )
    api_db_timeout_s: float = Field(
        default=10.0,
        ge=1,
        le=300,
        description="Longest a request waits for the database (a pooled connection, and each"
        " statement): past it 503, never a hang",
    )
    api_trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies whose"
        " X-Forwarded-For / X-Forwarded-Proto are believed; empty: none, the peer's address is"
        " the client's (the sign-in throttle and the audit log key on it)",
    )

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus scrapes /metrics with; unset, /metrics is off",
    )

    db_pool_min: int = 1
    db_pool_max: int = 10

    @property
    def edge(self) -> Literal["mosquitto", "nats"]:
        """The device edge in use: ``mqtt_edge``, else the NATS edge unless ``mqtt_url``
        names a (Mosquitto) broker."""
        if self.mqtt_edge is not None:
            return self.mqtt_edge
        return "mosquitto" if self.mqtt_url else "nats"

    @field_validator("mqtt_client_id")
    @classmethod
    def _service_namespace(cls, name: str) -> str:
        return check_service_name(name)

    @field_validator("api_trusted_proxies")
    @classmethod
    def _proxy_networks(cls, proxies: str) -> str:
        for item in proxies.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # ValueError: refused
        return proxies


def _loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
