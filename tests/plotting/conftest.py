"""Fixtures shared by the plotting tests."""

import shutil

import pytest


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the web pages; the tests that need it skip without it."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium on this machine")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )  # fmt: skip
        except Exception as exc:  # a browser that cannot start here is a skip, not a failure
            pytest.skip(f"Chromium does not start: {exc}")
        yield launched
        launched.close()
