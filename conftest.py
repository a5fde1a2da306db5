"""Hypothesis profiles: `ci` (default; few examples, derandomised, no deadline) and `thorough`."""
import os

from hypothesis import settings

settings.register_profile("ci", max_examples=5, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
