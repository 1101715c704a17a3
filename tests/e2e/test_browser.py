"""Add the integration through Home Assistant's real UI in a real browser.

Chromium (Debian's build, installed by scripts/setup) driven by Playwright:
log in, Settings > Devices & services > Add integration > Secure Lock > on
this network > address and setup code > press the button > pair > the lock's
device page > unlock and lock > open and close the door (door events on the
activity entity, and no bolt event).  A screenshot of every step goes to
artifacts/e2e/<release>/; the README's images in docs/images/ come from these.

The browser may reach only this Home Assistant: no other host name resolves
in Chromium, and every request to another host is aborted and listed in
artifacts/e2e/<release>/blocked-requests.txt.  The Home Assistant process runs
under the loopback-only guard (netguard/) and the test fails if it tried.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
import json
from pathlib import Path
import re
import shutil
import time
from urllib.parse import urlsplit

from homeassistant.const import __version__ as HA_VERSION
from playwright.async_api import (
    Browser,
    Page,
    Route,
    ViewportSize,
    async_playwright,
    expect,
)
import pytest

from device_sim.mechanism import DoorState

from .hass_process import PASSWORD, REPO_ROOT, USERNAME, HassProcess
from .sim_lock import SimulatedLock

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
UI_TIMEOUT_MS = 60_000
# Assertions wait as long as actions do: a loaded machine renders slowly.
expect.set_options(timeout=UI_TIMEOUT_MS)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # No name resolves except the loopback address: nothing else is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass
class Steps:
    """Numbered screenshots of the walk through the UI."""

    page: Page
    directory: Path
    taken: list[Path] = field(default_factory=list)

    async def shot(self, name: str) -> Path:
        """Save a screenshot of the viewport as NN-name.png."""
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        await self.page.screenshot(path=path, animations="disabled")
        self.taken.append(path)
        return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Run headless Chromium from Debian (Playwright's download is never used)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


async def test_add_pair_and_operate_in_the_browser(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    hass_bin: Path,
    sim_lock: SimulatedLock,
    browser: Browser,
) -> None:
    """A user adds the lock through the UI, pairs it, and unlocks and locks it."""
    hass = HassProcess(hass_bin, tmp_path / "config")
    # One folder per Home Assistant release and version of this environment.
    release = request.node.callspec.params["hass_bin"]
    if release == "this-env":
        release = HA_VERSION
    artifacts = ARTIFACTS / release
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    await hass.start()
    try:
        await hass.onboard()
        await hass.wait_running()
        await hass.confirm_http_config()
        blocked: list[str] = []
        context = await browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.set_default_timeout(UI_TIMEOUT_MS)

        async def only_this_hass(route: Route) -> None:
            url = urlsplit(route.request.url)
            if url.scheme in ("data", "blob") or url.netloc == f"127.0.0.1:{hass.port}":
                if (
                    url.path.startswith("/api/brands/")
                    and "/secure_lock/" not in url.path
                ):
                    # Home Assistant would fetch other brands' icons from the
                    # internet; only this integration's ships with it.
                    await route.fulfill(status=404)
                    return
                await route.continue_()
                return
            blocked.append(route.request.url)
            await route.abort()

        await context.route("**/*", only_this_hass)
        page = await context.new_page()
        steps = Steps(page, artifacts)
        try:
            await walk_through_ui(hass, sim_lock, page, steps)
        except Exception:
            await steps.shot("failure")
            raise
        finally:
            await context.close()
        # The page may try other hosts (the 2026.6 frontend fetches a source
        # file from GitHub to map a stack trace); such requests were aborted
        # above, so they are only listed.  Home Assistant itself must not try.
        (artifacts / "blocked-requests.txt").write_text(
            "".join(f"{url}\n" for url in blocked), encoding="utf-8"
        )
        assert hass.refused_connections() == []
    finally:
        await hass.stop()


async def walk_through_ui(
    hass: HassProcess, lock: SimulatedLock, page: Page, steps: Steps
) -> None:
    """Log in, add and pair the lock, operate it from its device page."""
    await page.goto(hass.url)
    # The login form marks its fields for password managers; the labels live
    # in shadow roots and are not linked to the inputs in every release.
    await page.locator("input[autocomplete=username]").fill(USERNAME)
    await page.locator("input[autocomplete=current-password]").fill(PASSWORD)
    await steps.shot("login")
    await page.get_by_role("button", name="Log in").click()

    await page.get_by_role("link", name="Settings").click()
    await page.get_by_text("Devices & services").first.click()
    await expect(page).to_have_url(f"{hass.url}/config/integrations/dashboard")
    await steps.shot("devices-and-services")
    added_at = time.monotonic()
    await page.get_by_role("button", name="Add integration").click()
    # The dashboard has a search field of its own: wait for the dialog's
    # (the same English placeholder in the 2026.6, 2026.10 and 2026.11 frontends).
    brand_search = page.get_by_placeholder("Search for a brand name")
    await expect(brand_search).to_be_visible()
    await brand_search.fill("Secure Lock")
    await expect(page.get_by_text("Secure Lock", exact=True)).to_be_visible()
    await steps.shot("add-integration")
    await page.get_by_text("Secure Lock", exact=True).click()

    await expect(page.get_by_text("On this network")).to_be_visible()
    await steps.shot("choose-lan")
    await page.get_by_text("On this network").click()

    # The form's text fields in schema order: address, then setup code (their
    # labels sit in the fields' shadow roots, not linked to the inputs).
    await expect(page.get_by_text("Setup code*")).to_be_visible()
    fields = page.locator("ha-form input")
    await expect(fields).to_have_count(2)
    await fields.nth(0).fill(lock.address)
    await fields.nth(1).fill(lock.setup_code)
    await steps.shot("setup-code")
    await page.get_by_role("button", name="Submit").click()

    await expect(page.get_by_text("Press the button on the lock")).to_be_visible()
    await steps.shot("press-button")
    lock.device.press_button()
    submitted_at = time.monotonic()
    await page.get_by_role("button", name="Submit").click()

    # The frontend shows either a plain success or, once the new device is in
    # the registry, a form to name it: whichever comes first.
    finish = page.get_by_role("button", name=re.compile(r"^(Skip and finish|Finish)$"))
    await expect(finish).to_be_visible()
    paired_at = time.monotonic()
    # docs/performance.md quotes these (the test's own typing is instant).
    (steps.directory / "timing.json").write_text(
        json.dumps(
            {
                "add_integration_to_paired_s": round(paired_at - added_at, 2),
                "submit_to_paired_s": round(paired_at - submitted_at, 2),
            }
        )
    )
    await steps.shot("paired")
    await finish.click()

    await hass.wait_state(lock.lock_entity, lambda s: s["state"] == "locked", "locked")
    device_id = (
        await hass.template(f"{{{{ device_id('{lock.lock_entity}') }}}}")
    ).strip()
    await page.goto(f"{hass.url}/config/devices/device/{device_id}")
    await expect(
        page.get_by_text(f"Secure Lock {lock.lock_id[:8]}").first
    ).to_be_visible()
    await steps.shot("device-locked")

    await page.get_by_role("button", name="Unlock").first.click()
    await hass.wait_state(
        lock.lock_entity, lambda s: s["state"] == "unlocked", "unlocked"
    )
    await expect(page.get_by_role("button", name="Lock").first).to_be_visible()
    await steps.shot("device-unlocked")
    await page.get_by_role("button", name="Lock").first.click()
    await hass.wait_state(lock.lock_entity, lambda s: s["state"] == "locked", "locked")
    await expect(page.get_by_role("button", name="Unlock").first).to_be_visible()
    await steps.shot("device-locked-again")
    assert lock.device.mechanism.status.bolt.name == "LOCKED"
    await open_and_close_the_door(hass, lock, page, steps)


async def open_and_close_the_door(
    hass: HassProcess, lock: SimulatedLock, page: Page, steps: Steps
) -> None:
    """Someone opens and closes the door: door events, and no bolt event."""
    door = f"binary_sensor.secure_lock_{lock.lock_id[:8]}_door"
    async with hass.state_changes(lock.event_entity) as fired:
        lock.device.set_door(DoorState.OPEN)
        await hass.wait_state(door, lambda s: s["state"] == "on", "open")
        await hass.wait_state(
            lock.event_entity,
            lambda s: s["attributes"].get("event_type") == "door_opened",
            "door_opened",
        )
        await expect(page.get_by_text("Door opened").first).to_be_visible()
        await steps.shot("door-open")
        lock.device.set_door(DoorState.CLOSED)
        await hass.wait_state(door, lambda s: s["state"] == "off", "closed")
        await hass.wait_state(
            lock.event_entity,
            lambda s: s["attributes"].get("event_type") == "door_closed",
            "door_closed",
        )
        await expect(page.get_by_text("Door closed").first).to_be_visible()
        await steps.shot("door-closed")
        async with asyncio.timeout(UI_TIMEOUT_MS / 1000):
            while len(fired) < 2:  # noqa: ASYNC110 - a WebSocket feed, no event
                await asyncio.sleep(0.05)
    assert [s["attributes"]["event_type"] for s in fired] == [
        "door_opened",
        "door_closed",
    ]
    assert all(s["attributes"]["changed_by"] is None for s in fired)
    state = await hass.state(lock.lock_entity)
    assert state is not None
    assert state["state"] == "locked"
