"""Hypothesis profiles for the fuzz targets: ``fuzz`` (make fuzz) and ``fuzz-short`` (make test)."""

from tests.fuzz.support import register_profiles

register_profiles()
