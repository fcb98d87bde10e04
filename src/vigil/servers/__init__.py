"""The servers Vigil runs on: embedded PostgreSQL+TimescaleDB, Mosquitto and NATS, or given URLs."""

from vigil.core.credentials import BrokerUser, hash_password, verify_password
from vigil.servers.mosquitto import EmbeddedMosquitto, reload_broker
from vigil.servers.nats import EmbeddedNats, split_servers
from vigil.servers.nats_cluster import NatsCluster
from vigil.servers.postgres import EmbeddedPostgres
from vigil.servers.stack import MqttTarget, Servers, start_servers, sync_broker_credentials

__all__ = [
    "BrokerUser",
    "EmbeddedMosquitto",
    "EmbeddedNats",
    "EmbeddedPostgres",
    "MqttTarget",
    "NatsCluster",
    "Servers",
    "hash_password",
    "reload_broker",
    "split_servers",
    "start_servers",
    "sync_broker_credentials",
    "verify_password",
]
