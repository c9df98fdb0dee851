"""Shared test set-up: a headless matplotlib and hypothesis settings for a 2-core CI machine."""

import matplotlib

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "emlab",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("emlab")
