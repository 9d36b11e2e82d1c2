"""Chromium through scrapy-playwright: launch options, what to block, how to capture evidence.

The system Chromium is used (``executable_path``); Playwright's own browser
download is never needed. Pages are opened by scrapy-playwright and closed by
it on every path, because spiders ask for page methods instead of holding the
page object.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request as PwRequest
from scrapy_playwright.page import PageMethod

log = logging.getLogger(__name__)

#: Evidence needs what the page looks like, not its video, audio or fonts.
BLOCKED_RESOURCE_TYPES = frozenset({"media", "font", "texttrack", "eventsource", "websocket", "manifest", "other"})
#: Screenshots stop at this height: a 50,000-pixel page is a trap, not evidence.
MAX_SCREENSHOT_HEIGHT = 12_000

_CHROMIUM_FLAGS = [
    # Chromium's own background traffic (updates, sync, safe browsing) has no
    # place in a crawl and fails on closed networks anyway.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-first-run", "--disable-quic", "--disable-gpu",
    "--disable-dev-shm-usage", "--mute-audio", "--disable-features=Translate,MediaRouter",
]


def chromium_path() -> str:
    path = os.environ.get("BRANDHOUND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path


def launch_options(proxy: str | None) -> dict[str, Any]:
    args = list(_CHROMIUM_FLAGS)
    if os.geteuid() == 0:
        # Chromium's sandbox refuses to start as root.
        args.append("--no-sandbox")
    options: dict[str, Any] = {"executable_path": chromium_path(), "headless": True, "args": args}
    if proxy:
        options["proxy"] = {"server": proxy}
    return options


def context_options(ignore_https_errors: bool) -> dict[str, Any]:
    return {
        "viewport": {"width": 1280, "height": 900},
        "ignore_https_errors": ignore_https_errors,
        "accept_downloads": False,
        "service_workers": "block",
        "java_script_enabled": True,
    }


#: The Playwright context of browser captures over Tor (see ``tor_context_options``).
TOR_CAPTURE_CONTEXT = "tor_capture"


def tor_context_options(socks: tuple[str, int], ignore_https_errors: bool = False) -> dict[str, Any]:
    """A context whose Chromium goes through Tor's SocksPort (``BRANDHOUND_TOR_BROWSER_SOCKS``).

    Chromium sends host names to a ``socks5://`` proxy unresolved, so onion names (and every
    subresource's host) are resolved by Tor, not locally. Chromium has no SOCKS authentication:
    use a SocksPort with ``IsolateDestAddr`` for one circuit per destination. Created on demand
    by scrapy-playwright from ``meta["playwright_context_kwargs"]`` (TorRouteMiddleware sets it).
    """
    host, port = socks
    return {**context_options(ignore_https_errors), "proxy": {"server": f"socks5://{host}:{port}"}}


def should_abort_request(request: PwRequest) -> bool:
    return request.resource_type in BLOCKED_RESOURCE_TYPES


async def settle_and_screenshot(page: Page, settle_ms: int = 4000) -> bytes:
    """Let scripts finish building the page (bounded), then take a full-page PNG."""
    try:
        await page.wait_for_load_state("networkidle", timeout=settle_ms)
    except PlaywrightError:
        log.info("%s still busy after %d ms; capturing it as it is", page.url, settle_ms)
    height = await page.evaluate("() => Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")
    if height and height > MAX_SCREENSHOT_HEIGHT:
        width = page.viewport_size["width"] if page.viewport_size else 1280
        return await page.screenshot(type="png", clip={"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT}, full_page=True)
    return await page.screenshot(type="png", full_page=True)


#: Runs in every frame of a capture before the page's own scripts: a page may not open windows or
#: start downloads (a download would also end scrapy-playwright's capture of the page with an error).
_HARDEN_PAGE_JS = """(() => {
  window.open = () => null;
  const isDownload = (a) => a && (a.hasAttribute("download") || /^(blob|data):/i.test(a.href || ""));
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () { if (!isDownload(this)) return click.call(this); };
  document.addEventListener("click", (e) => {
    const a = e.target && e.target.closest ? e.target.closest("a") : null;
    if (isDownload(a)) e.preventDefault();
  }, true);
})();"""


async def harden_page(page: Page, request: Any) -> None:
    """scrapy-playwright's page init callback for captures: no popups, no script-started downloads."""
    await page.add_init_script(_HARDEN_PAGE_JS)
    page.on("popup", _close_popup)


async def _close_popup(popup: Page) -> None:
    # Page.opener is a coroutine method: reading .url off the method raised before the popup was closed.
    opener = await popup.opener()
    log.info("capture page %s opened a popup (%s); closed", opener and opener.url, popup.url)
    await popup.close()


def capture_meta(context: str = "capture") -> dict[str, Any]:
    """Request meta for a browser capture: render, settle, screenshot."""
    return {
        "playwright": True,
        "playwright_context": context,
        "playwright_page_init_callback": "crawlers.browser.harden_page",
        "playwright_page_methods": {"screenshot": PageMethod(settle_and_screenshot)},
    }


def tor_capture_meta(socks: tuple[str, int]) -> dict[str, Any]:
    """``capture_meta`` in the Tor context (TorRouteMiddleware also moves onion captures there)."""
    return {**capture_meta(TOR_CAPTURE_CONTEXT), "playwright_context_kwargs": tor_context_options(socks)}


def screenshot_from(meta: dict[str, Any]) -> bytes | None:
    method = (meta.get("playwright_page_methods") or {}).get("screenshot")
    return getattr(method, "result", None)
