"""Headless Chromium through Playwright: one browser per run, shared by its UI steps.

The system browser is used (Debian's `chromium`; browsers cannot be
downloaded here): $RB_CHROMIUM, else /usr/lib/chromium/chromium (the real
binary, which starts faster than the /usr/bin wrapper), else `chromium` on
PATH. Screenshots are made repeatable: animations off, caret hidden, masks
painted over, a fixed viewport and scale.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from rb.world.base import Screenshot, ScreenshotRequest, WorldError

CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without the background-networking flags Chromium keeps calling home, which a
# closed network refuses (and which a runbook's screenshot should never do).
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--font-render-hinting=none",
)

Router = Callable[[Any], Awaitable[None]]


def chromium_path() -> str:
    """The browser binary to launch; a WorldError saying how to install one."""
    configured = os.environ.get("RB_CHROMIUM")
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise WorldError(f"RB_CHROMIUM={configured} is not an executable file", retryable=False)
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium")
    if found:
        return found
    raise WorldError(
        "no Chromium found: install it (apt-get install chromium) or set RB_CHROMIUM "
        "to the browser binary",
        retryable=False,
    )


class Browser:
    """Launched on the first screenshot, closed with the run."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> Any:
        async with self._lock:
            if self._browser is None:
                path = chromium_path()
                try:
                    from playwright.async_api import async_playwright
                except ImportError:
                    raise WorldError(
                        "Playwright is not installed: pip install playwright", retryable=False
                    ) from None
                self._playwright = await async_playwright().start()
                try:
                    self._browser = await self._playwright.chromium.launch(
                        executable_path=path, args=list(FLAGS)
                    )
                except Exception as exc:
                    await self._playwright.stop()
                    self._playwright = None
                    raise WorldError(
                        f"cannot start Chromium at {path}: {str(exc).splitlines()[0]}",
                        retryable=False,
                    ) from None
            return self._browser

    async def shoot(
        self, request: ScreenshotRequest, *, router: Router | None = None
    ) -> Screenshot:
        """Open the page in a fresh context, wait as asked, and capture it."""
        browser = await self._ensure()
        width, height = request.viewport
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=request.device_scale_factor,
        )
        timeout = request.timeout_seconds * 1000
        try:
            page = await context.new_page()
            if router is not None:
                await page.route("**/*", router)
            wait_until = "networkidle" if request.wait_for_network_idle else "load"
            await page.goto(request.url, wait_until=wait_until, timeout=timeout)
            if request.wait_for:
                await page.locator(request.wait_for).first.wait_for(timeout=timeout)
            options: dict[str, Any] = {
                "animations": "disabled" if request.animations == "disabled" else "allow",
                "caret": "hide",
                "timeout": timeout,
                "mask": [page.locator(m) for m in request.masks],
            }
            if request.selector:
                png = await page.locator(request.selector).first.screenshot(**options)
            else:
                png = await page.screenshot(full_page=request.full_page, **options)
        except WorldError:
            raise
        except Exception as exc:  # Playwright's errors: timeouts, bad selectors, navigation
            message = str(exc).splitlines()[0]
            raise WorldError(f"screenshot of {request.url}: {message}") from None
        finally:
            await context.close()
        w, h = png_size(png)
        return Screenshot(png, w, h)

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise WorldError("the browser did not return a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)
