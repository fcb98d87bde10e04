"""Domain exceptions shared by every stage. The API maps them to HTTP codes at its edge."""


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""


class PayloadError(VigilError):
    """A device payload (or one reading in it) cannot be accepted; the message says why."""


class UnknownMetric(PayloadError):
    pass


class UnknownUnit(PayloadError):
    pass


class ImplausibleValue(PayloadError):
    pass


class InvalidInput(VigilError):
    """A value the caller chose cannot be accepted; the message says why (the API: 400)."""


class NotFound(VigilError):
    pass


class Conflict(VigilError):
    pass


class ServerStartError(VigilError):
    """An embedded PostgreSQL, Mosquitto or NATS server failed to start."""
