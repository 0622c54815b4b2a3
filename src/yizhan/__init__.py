"""Yizhan (一站): an open-source e-government platform."""

__version__ = "0.1.0"
