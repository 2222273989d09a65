"""Compact device models: each has a numpy face and a SPICE face built from one params object."""

from device_models.validation import ParamError

__all__ = ["ParamError"]
