"""The gateway's configuration: a TOML or JSON file (one per home hub).

::

    mqtt_url = "mqtts://vigil.example.org:8883"   # Vigil's device listener
    queue_path = "/var/lib/vigil-gateway/queue.sqlite3"
    timezone = "Asia/Seoul"                      # the devices' clocks (a Date Time has no offset)

    [[devices]]
    address = "C4:7C:8D:6A:12:34"                # or name = "BP7000"
    kind = "blood_pressure"
    device_id = "0b7e..."                        # the Vigil device provisioned for this cuff
    password = "..."                             # its MQTT password, shown once at provisioning
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigil.gateway.decode_glucose import GLUCOSE_CONTEXT, GLUCOSE_MEASUREMENT
from vigil.gateway.decode_pulse import HEART_RATE_MEASUREMENT, PLX_CONTINUOUS, PLX_SPOT_CHECK
from vigil.gateway.decode_vitals import (
    BLOOD_PRESSURE_MEASUREMENT,
    TEMPERATURE_MEASUREMENT,
    WEIGHT_MEASUREMENT,
)
from vigil.gateway.errors import ConfigError


def time_zone(name: str) -> tzinfo:
    """``UTC`` or an IANA name (``Asia/Seoul``); ValueError with the reason otherwise."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone (like Asia/Seoul or UTC)") from None


class Kind(StrEnum):
    BLOOD_PRESSURE = "blood_pressure"
    GLUCOSE = "glucose"
    WEIGHT = "weight"
    PULSE_OXIMETER = "pulse_oximeter"
    THERMOMETER = "thermometer"
    HEART_RATE = "heart_rate"


MEASUREMENTS: dict[Kind, tuple[int, ...]] = {
    Kind.BLOOD_PRESSURE: (BLOOD_PRESSURE_MEASUREMENT,),
    Kind.GLUCOSE: (GLUCOSE_MEASUREMENT, GLUCOSE_CONTEXT),
    Kind.WEIGHT: (WEIGHT_MEASUREMENT,),
    Kind.PULSE_OXIMETER: (PLX_SPOT_CHECK, PLX_CONTINUOUS),
    Kind.THERMOMETER: (TEMPERATURE_MEASUREMENT,),
    Kind.HEART_RATE: (HEART_RATE_MEASUREMENT,),
}
"""The characteristics the gateway subscribes to for each kind of device (those the device
has: an oximeter may offer spot-check, continuous or both; a meter's context is optional)."""


class Simulated(BaseModel):
    """A bumble-simulated device with stored records (tests and the demo)."""

    model_config = ConfigDict(extra="forbid")
    records: int = Field(10, ge=0, le=10_000)
    start: datetime
    """The first stored record's time on the device's clock (local, no offset)."""
    every_min: int = Field(60, ge=1)
    interval_ms: int = Field(0, ge=0, le=60_000)
    """Pause between two records the device sends (a real cuff takes its time)."""
    seed: int = 0


class DeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | None = None
    name: str | None = None
    kind: Kind
    device_id: str = Field(min_length=1, pattern=r"^[^/#+\s]+$")
    password: str = Field(min_length=1)
    pair: bool = True
    """Bond on connecting (most health devices indicate only over an encrypted link)."""
    simulate: Simulated | None = None

    @model_validator(mode="after")
    def _found_by_something(self) -> DeviceConfig:
        if not (self.address or self.name):
            raise ValueError("a device needs its Bluetooth address or its name")
        return self

    @property
    def label(self) -> str:
        return self.address or self.name or self.device_id


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mqtt_url: str
    """``mqtt://host:port`` or ``mqtts://host:port`` (TLS) of Vigil's device listener."""
    mqtt_ca_file: Path | None = None
    queue_path: Path = Path("vigil-gateway.sqlite3")
    timezone: str = "UTC"
    transport: Literal["bleak", "simulated"] = "bleak"
    inflight: int = Field(20, ge=1, le=1000)
    """Readings published and not yet acknowledged, per device."""
    reconnect_s: float = Field(5.0, gt=0)
    devices: list[DeviceConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GatewayConfig:
        parts = urlsplit(self.mqtt_url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("mqtt_url must be mqtt://host:port or mqtts://host:port")
        ids = [d.device_id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError("each physical device needs its own Vigil device id")
        self.zone()
        if self.transport == "simulated" and any(d.simulate is None for d in self.devices):
            raise ValueError('transport "simulated" needs a [devices.simulate] table per device')
        return self

    def zone(self) -> tzinfo:
        """The devices' clocks' time zone: a Date Time is read as local time in it."""
        return time_zone(self.timezone)

    @property
    def mqtt_host(self) -> str:
        host = urlsplit(self.mqtt_url).hostname
        assert host is not None
        return host

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"


def load_config(path: Path) -> GatewayConfig:
    """Read a TOML (``.toml``) or JSON file; :class:`ConfigError` with the reason."""
    try:
        text = path.read_text()
        doc = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        return GatewayConfig.model_validate(doc)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML/JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
