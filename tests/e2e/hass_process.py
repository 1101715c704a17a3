"""Run a real Home Assistant process for end-to-end tests, and talk to its API.

Not the pytest harness's in-process `hass`: `hass --config DIR` in its own
process, with this checkout on PYTHONPATH the way `scripts/develop` runs it,
onboarded through the REST API like a new user's browser would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import subprocess
import time
from typing import Any

import aiohttp

from device_sim.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# Its sitecustomize refuses every address but loopback inside hass.
NETWORK_GUARD = Path(__file__).resolve().parent / "netguard"
GUARD_LOG = "network-guard.log"
CLIENT_ID = "http://127.0.0.1/"
START_TIMEOUT = 180.0
# Generous: the machine running the tests may be busy with other work.
STATE_TIMEOUT = 60.0
POLL_INTERVAL = 0.25
USERNAME = "owner"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway test account


CONFIGURATION = """\
homeassistant:
  name: Secure Lock e2e
  time_zone: UTC
  unit_system: metric
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
automation:
logger:
  default: warning
  logs:
    custom_components.secure_lock: debug
"""


@dataclass
class HassProcess:
    """One Home Assistant process on a free port with its own config directory."""

    hass_bin: Path
    config_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    token: str | None = None

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """Return Home Assistant's log so far."""
        path = self.config_dir / "home-assistant.log"
        return (
            path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        )

    def log_tail(self, lines: int = 60) -> str:
        """Return the last lines of Home Assistant's log, for failure messages."""
        tail = "\n".join(self.log.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.config_dir}/home-assistant.log ---\n{tail}"

    def refused_connections(self) -> list[str]:
        """Return every non-loopback address hass tried to reach (the guard refused it)."""
        path = self.config_dir / GUARD_LOG
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def write_config(self) -> None:
        """Write a lean configuration that needs nothing compiled."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(port=self.port), encoding="utf-8"
        )
        # Every onboarding step but the owner's account counts as done: the
        # core config step would set up integrations that reach the internet
        # (weather, radio), and the frontend would keep showing onboarding.
        storage = self.config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "onboarding").write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            ),
            encoding="utf-8",
        )

    async def start(self) -> None:
        """Start `hass` and wait until its HTTP server answers."""
        if not (self.config_dir / "configuration.yaml").exists():
            self.write_config()
        env = dict(os.environ)
        env["PYTHONPATH"] = f"{REPO_ROOT}:{NETWORK_GUARD}" + (
            f":{env['PYTHONPATH']}" if env.get("PYTHONPATH") else ""
        )
        env["SECURE_LOCK_E2E_GUARD_LOG"] = str(self.config_dir / GUARD_LOG)
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a server we stop ourselves
            [
                str(self.hass_bin),
                "--config",
                str(self.config_dir),
                "--log-file",
                str(self.config_dir / "home-assistant.log"),
                # Requirements are installed by scripts/setup; never fetch any.
                "--skip-pip",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"hass exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    async with session.get(f"{self.url}/api/onboarding") as response:
                        if response.status in (200, 401, 404):
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
        raise RuntimeError(f"hass did not come up:\n{self.log_tail()}")

    async def stop(self) -> None:
        """Stop Home Assistant the way Ctrl-C does, and wait for it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return
            await asyncio.sleep(POLL_INTERVAL)
        process.kill()
        process.wait()

    async def onboard(self) -> str:
        """Create the owner account as the onboarding page does; return an access token."""
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{self.url}/api/onboarding/users",
                json={
                    "client_id": CLIENT_ID,
                    "name": "Owner",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            ) as response:
                response.raise_for_status()
                auth_code = (await response.json())["auth_code"]
            self.token = await self._token(
                session, {"grant_type": "authorization_code", "code": auth_code}
            )
        return self.token

    async def login(self) -> str:
        """Log in again after a restart (the login flow, as the frontend does)."""
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{self.url}/auth/login_flow",
                json={
                    "client_id": CLIENT_ID,
                    "handler": ["homeassistant", None],
                    "redirect_uri": CLIENT_ID,
                },
            ) as response:
                flow = await response.json()
            async with session.post(
                f"{self.url}/auth/login_flow/{flow['flow_id']}",
                json={
                    "client_id": CLIENT_ID,
                    "username": USERNAME,
                    "password": PASSWORD,
                },
            ) as response:
                result = await response.json()
            self.token = await self._token(
                session, {"grant_type": "authorization_code", "code": result["result"]}
            )
        return self.token

    async def wait_running(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until Home Assistant has finished starting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            config = await self.api("GET", "/api/config")
            if config.get("recovery_mode"):
                # Recovery mode loads no custom integration: nothing to test.
                raise RuntimeError(f"hass is in recovery mode:\n{self.log_tail()}")
            if config["state"] == "RUNNING":
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"hass did not finish starting:\n{self.log_tail()}")

    async def _token(self, session: aiohttp.ClientSession, data: dict[str, str]) -> str:
        async with session.post(
            f"{self.url}/auth/token", data={**data, "client_id": CLIENT_ID}
        ) as response:
            response.raise_for_status()
            token: str = (await response.json())["access_token"]
        return token

    async def api(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the REST API with the owner's token; return the decoded JSON."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, f"{self.url}{path}", json=payload, headers=headers
            ) as response,
        ):
            body = await response.json(content_type=None)
            if response.status >= 400:
                raise AssertionError(
                    f"{method} {path} -> {response.status}: {body}\n{self.log_tail()}"
                )
            return body

    async def websocket(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command over the WebSocket API; return the result message."""
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{self.url}/api/websocket") as ws,
        ):
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": self.token})
            auth = await ws.receive_json()
            assert auth["type"] == "auth_ok", auth
            await ws.send_json({"id": 1, **command})
            while True:
                message: dict[str, Any] = await ws.receive_json()
                if message.get("id") == 1 and message["type"] == "result":
                    return message

    @contextlib.asynccontextmanager
    async def state_changes(
        self, entity_id: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Collect every new state of `entity_id` while the block runs.

        A WebSocket subscription to `state_changed`, confirmed before the block
        starts, so no change made inside the block is missed.
        """
        changes: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{self.url}/api/websocket") as ws,
        ):
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json({"type": "auth", "access_token": self.token})
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json(
                {"id": 1, "type": "subscribe_events", "event_type": "state_changed"}
            )
            while True:
                message = await ws.receive_json()
                if message.get("id") == 1 and message["type"] == "result":
                    assert message["success"], message
                    break

            async def collect() -> None:
                async for raw in ws:
                    message = json.loads(raw.data)
                    if message.get("type") != "event":
                        continue
                    data = message["event"]["data"]
                    if data["entity_id"] == entity_id and data["new_state"]:
                        changes.append(data["new_state"])

            reader = asyncio.create_task(collect())
            try:
                yield changes
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def confirm_http_config(self) -> None:
        """Keep the YAML HTTP settings (port, loopback) as the confirmed ones.

        From 2026.10 Home Assistant moves the YAML `http:` settings to storage
        as a pending change that reverts to port 8123 after a few minutes
        unless the user confirms it in a dialog; confirm it as the user would.
        Older releases apply the YAML directly and know no such command.
        """
        config = await self.websocket({"type": "http/config"})
        if not config["success"]:
            assert config["error"]["code"] == "unknown_command", config
            return
        if config["result"]["pending"] is None:
            return
        promoted = await self.websocket({"type": "http/config/promote"})
        assert promoted["success"], promoted

    async def template(self, template: str) -> str:
        """Render a template through the REST API (plain text answer)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/api/template", json={"template": template}, headers=headers
            ) as response,
        ):
            text = await response.text()
            if response.status >= 400:
                raise AssertionError(f"template -> {response.status}: {text}")
            return text

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """Return an entity's state object, or None while it does not exist."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.url}/api/states/{entity_id}", headers=headers
            ) as response,
        ):
            if response.status == 404:
                return None
            response.raise_for_status()
            state: dict[str, Any] = await response.json()
            return state

    async def wait_state(
        self,
        entity_id: str,
        check: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = STATE_TIMEOUT,
    ) -> dict[str, Any]:
        """Poll an entity until `check` accepts its state; fail with the log tail if not."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = await self.state(entity_id)
            if last is not None and check(last):
                return last
            await asyncio.sleep(POLL_INTERVAL)
        raise AssertionError(
            f"{entity_id} did not become {what} within {timeout:.0f} s; "
            f"last state: {last}\n{self.log_tail()}"
        )
