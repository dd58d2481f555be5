"""The report's browser tests share the plotting tests' headless Chromium."""

from tests.plotting.conftest import browser  # noqa: F401
