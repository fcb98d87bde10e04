"""The chaos run uses the stream tests' process fixture."""

from tests.stream.conftest import processes

__all__ = ["processes"]
