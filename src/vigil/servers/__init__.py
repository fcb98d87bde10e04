"""The servers Vigil runs on: embedded PostgreSQL+TimescaleDB and Mosquitto, or given URLs."""

from vigil.core.credentials import BrokerUser, hash_password, verify_password
from vigil.servers.mosquitto import EmbeddedMosquitto, reload_broker
from vigil.servers.postgres import EmbeddedPostgres
from vigil.servers.stack import MqttTarget, Servers, start_servers, sync_broker_credentials

__all__ = [
    "BrokerUser",
    "EmbeddedMosquitto",
    "EmbeddedPostgres",
    "MqttTarget",
    "Servers",
    "hash_password",
    "reload_broker",
    "start_servers",
    "sync_broker_credentials",
    "verify_password",
]
