"""Vigil: remote chronic-disease monitoring."""

__version__ = "0.1.0"
