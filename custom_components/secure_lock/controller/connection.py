"""Keep one controller connected to its lock over whichever path works.

One object owns everything about reaching the lock, as ESPHome's reconnect
logic does for its devices: the order of the paths, opening a link, starting
the client, backing off, failing over between paths, the silence watchdog and
the unreachable timer.  Its owner (Home Assistant's coordinator, the removal
of an entry) hears only what matters to it through a `ConnectionListener`.

A path counts as working only while the lock answers on it, signed.  An open
socket proves nothing: a broker can be up while the lock is gone from it, a
relay can accept and drop, and the MQTT link retries a dead broker forever
without ever closing.  So every new link must answer a status request before
it is used, and a link that stays silent for `ConnectionTimings.silence_limit`
must answer one again or be given up for the next path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
import logging
from typing import Any

import aiohttp

from ..protocol import ControllerIdentity, PairedLock, ResultCode
from ..transport import Backoff, TransportError
from .client import LockClient, LockReport, ReportKind
from .errors import CommandRefused, CommandTimeout, ControllerError, LinkUnavailable
from .links import LinkKind, LinkSettings, LinkUse, open_link

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionTimings:
    """How long the connection waits for what (seconds)."""

    silence_limit: float = 75.0
    """No signed frame for this long (2.5 heartbeats): ask the lock, or move on."""
    answer_timeout: float = 15.0
    """How long a path has to answer a status request before it counts as dead."""
    unreachable_after: float = 1800.0
    """Without any working path for this long, the owner is told (repair issue)."""
    preferred_retry: float = 600.0
    """While on a fallback path, how often the preferred one is tried again."""
    backoff_initial: float = 1.0
    backoff_maximum: float = 60.0


@dataclass(frozen=True, slots=True)
class PathFailure:
    """Why one path could not be used."""

    path: LinkKind
    reason: str

    def __str__(self) -> str:
        """Return ``path: reason`` (the text the unreachable report shows)."""
        return f"{self.path.value}: {self.reason}"


class LockUnreachable(ControllerError):
    """No path reached a lock that answers; `failures` says why, path by path."""

    def __init__(self, failures: tuple[PathFailure, ...]) -> None:
        """Keep each path's reason."""
        super().__init__("; ".join(str(failure) for failure in failures))
        self.failures = failures


class ConnectionListener:
    """What the owner of a `LockConnection` is told; each report is ignored by default."""

    def connection_made(self, path: LinkKind) -> None:
        """Use ``path`` from now on: the lock answered on it, signed."""
        return

    def connection_lost(self) -> None:
        """Note that the path in use was given up; another is being looked for."""
        return

    def lock_silent(self) -> None:
        """Mark what is shown as stale: no signed frame for the silence limit."""
        return

    def lock_unreachable(
        self, away_s: float, failures: tuple[PathFailure, ...]
    ) -> None:
        """Report that no path has worked for `unreachable_after` or longer."""
        return

    def lock_updated(self, update: LockReport) -> None:
        """Take a state report the lock signed (event, heartbeat, result, join)."""
        return

    def controller_revoked(self) -> None:
        """Give up: the lock said, signed, that this controller was removed."""
        return

    def lock_record_changed(self, lock: PairedLock) -> None:
        """Counters or the clock offset moved: persist the lock record."""
        return

    def clock_skew_seen(self, sample_ms: int) -> None:
        """Report an authentic lock frame stamped outside the freshness window."""
        return


type TaskStarter = Callable[[Coroutine[Any, Any, None], str], object]
"""Starts a named background task (Home Assistant passes its entry's, so
tests can wait for them); the default keeps a reference to each task."""


@dataclass(slots=True)
class _Current:
    """The path in use and its client."""

    path: LinkKind
    client: LockClient
    given_up: asyncio.Event = field(default_factory=asyncio.Event)


class LockConnection:
    """Connects to one lock, keeps it connected, and fails over between paths.

    Driven by the event loop's timers and short tasks, never by a loop that
    runs forever, so an owner that waits for its background tasks (Home
    Assistant's tests do) only ever waits for one attempt.
    """

    def __init__(
        self,
        settings: LinkSettings,
        identity: ControllerIdentity,
        paired_lock: PairedLock,
        listener: ConnectionListener,
        *,
        session: aiohttp.ClientSession,
        timings: ConnectionTimings | None = None,
        start_task: TaskStarter | None = None,
    ) -> None:
        """Prepare; `connect` makes the first connection."""
        self.settings = settings
        self.identity = identity
        self.paired_lock = paired_lock
        self._listener = listener
        self._session = session
        self.timings = timings or ConnectionTimings()
        self._start_task = start_task or self._start_own_task
        self._own_tasks: set[asyncio.Task[None]] = set()
        self._backoff = Backoff(
            initial=self.timings.backoff_initial, maximum=self.timings.backoff_maximum
        )
        self._current: _Current | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._stopped = True
        self._given_up: LinkKind | None = None
        self._attempting = False
        self.away_s = 0.0
        """Time spent without a working path since the last one was lost."""

    @property
    def client(self) -> LockClient | None:
        """Return the client on the path in use, if any."""
        return self._current.client if self._current is not None else None

    @property
    def stopped(self) -> bool:
        """Return whether the connection was stopped (or never started)."""
        return self._stopped

    @property
    def reconnecting(self) -> bool:
        """Return whether a path is being looked for (a retry is due or running)."""
        if self._stopped:
            # A retry cancelled before it ran never cleared its flag.
            return False
        return "reconnect" in self._timers or self._attempting

    @property
    def path(self) -> LinkKind | None:
        """Return the path in use, if any."""
        return self._current.path if self._current is not None else None

    # Connecting ----------------------------------------------------------------

    async def connect(self) -> LockClient:
        """Connect over the first path that answers, preferred first, and keep it.

        Raises `LockUnreachable` when no path answers (a refusal to read the
        state, as a guest outside its hours gets, counts as no answer), or
        `CommandRefused` when this controller was revoked; the connection
        then holds no path and does not retry.  Once connected, it
        reconnects and fails over by itself until `stop`.
        """
        if self._current is not None:
            return self._current.client
        path, client = await self._open_first_answering()
        self._stopped = False
        self._adopt(path, client)
        return client

    async def _open_first_answering(self) -> tuple[LinkKind, LockClient]:
        """Return the first path, in `_paths` order, on which the lock answers.

        Raises `CommandRefused` only for a revoked controller.  Any other
        refusal (a guest outside its hours) leaves the path unused for now,
        as the state cannot be read over it.
        """
        failures: list[PathFailure] = []
        for path in self._paths():
            try:
                return path, await self._open_answering(path)
            except LockUnreachable as err:
                failures.extend(err.failures)
            except CommandRefused as err:
                if err.code is ResultCode.REVOKED:
                    raise
                failures.append(PathFailure(path, f"refused: {err.code.name.lower()}"))
        raise LockUnreachable(tuple(failures))

    async def _open_answering(self, path: LinkKind) -> LockClient:
        """Open ``path`` and return its client once the lock answered a status request."""
        try:
            link = await open_link(
                self.settings,
                path,
                LinkUse(self.identity.key_id),
                session=self._session,
            )
        except TransportError as err:
            raise LockUnreachable((PathFailure(path, str(err)),)) from None
        # Reports reach the owner only once the path is adopted: a refusal
        # while probing (a revoked key) must not show up as the lock's state.
        client = LockClient(
            link,
            self.identity,
            self.paired_lock,
            on_persist=self._record_changed,
            on_clock_skew=self._listener.clock_skew_seen,
        )
        await client.start()
        answered = False
        try:
            await client.status(timeout=self.timings.answer_timeout)
            answered = True
        except CommandTimeout, LinkUnavailable:
            self.away_s += self.timings.answer_timeout
            raise LockUnreachable(
                (PathFailure(path, f"no answer in {self.timings.answer_timeout:g} s"),)
            ) from None
        finally:
            # Refused, silent or cancelled: nothing of this path is kept.
            if not answered:
                await _close(client)
        return client

    def _paths(self) -> list[LinkKind]:
        """Return the paths to try, preferred first, but the one just given up last.

        A path that stayed open but silent would likely cost another answer
        timeout before the working one is tried.
        """
        order = self.settings.order()
        if self._given_up in order:
            order.remove(self._given_up)
            order.append(self._given_up)
        return order

    def _adopt(self, path: LinkKind, client: LockClient) -> None:
        current = _Current(path, client)
        self._current = current
        self._given_up = None
        self._backoff.reset()
        self.away_s = 0.0
        _LOGGER.debug("Connected over %s", path.value)
        self._listener.connection_made(path)
        client.add_listener(self._heard)
        # The answer that proved the path: the freshest state there is.
        status = client.last_status
        assert status is not None
        self._heard(LockReport(ReportKind.RESULT, status, client.endpoint.lock_time()))
        client.link.add_restored_listener(lambda: self._link_restored(current))
        self._arm_silence_watch()
        # Lasts as long as the path: never one of the owner's short tasks.
        self._start_own_task(self._watch(current), "secure_lock link watch")
        order = self.settings.order()
        if path is not order[0]:
            self._set_timer(
                "preferred", self.timings.preferred_retry, self._preferred_retry_due
            )

    # Losing a path and finding another -----------------------------------------

    async def _watch(self, current: _Current) -> None:
        """Wait until ``current`` closes or is given up, then look for a path."""
        closed = asyncio.ensure_future(current.client.wait_closed())
        given_up = asyncio.ensure_future(current.given_up.wait())
        try:
            await asyncio.wait((closed, given_up), return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            given_up.cancel()
        if self._current is not current:
            return  # replaced by the preferred path, or stopped
        self._current = None
        self._given_up = current.path
        self._cancel_timer("preferred")
        await _close(current.client)
        if self._stopped:
            return
        _LOGGER.debug("Gave up the %s path", current.path.value)
        self._listener.connection_lost()
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        delay = self._backoff.next_delay()
        self.away_s += delay
        self._set_timer("reconnect", delay, self._reconnect_due)

    def _reconnect_due(self) -> None:
        # Set before the task runs: between the timer and the task nothing
        # is pending, and `reconnecting` must not read False meanwhile.
        self._attempting = True
        self._start_task(self._reconnect(), "secure_lock reconnect")

    async def _reconnect(self) -> None:
        try:
            if self._stopped or self._current is not None:
                return
            await self._attempt_reconnect()
        finally:
            self._attempting = False

    async def _attempt_reconnect(self) -> None:
        try:
            path, client = await self._open_first_answering()
        except LockUnreachable as err:
            if self.away_s >= self.timings.unreachable_after:
                self._listener.lock_unreachable(self.away_s, err.failures)
            self._schedule_reconnect()
            return
        except CommandRefused:
            # Revoked (other refusals are path failures): nothing to retry.
            self._halt()
            self._listener.controller_revoked()
            return
        if self.stopped:  # by the owner, while this attempt ran
            await _close(client)
            return
        self._adopt(path, client)

    def _preferred_retry_due(self) -> None:
        self._start_task(self._try_preferred(), "secure_lock preferred path")

    async def _try_preferred(self) -> None:
        """On a fallback path: move back to the preferred one if it answers now."""
        current = self._current
        if current is None or self._stopped:
            return
        preferred = self.settings.order()[0]
        try:
            client = await self._open_answering(preferred)
        except LockUnreachable, CommandRefused:
            self._set_timer(
                "preferred", self.timings.preferred_retry, self._preferred_retry_due
            )
            return
        if self._current is not current:
            await _close(client)
            return
        self._adopt(preferred, client)
        await _close(current.client)

    # Silence -----------------------------------------------------------------

    def _heard(self, update: LockReport) -> None:
        self._arm_silence_watch()
        self._listener.lock_updated(update)

    def _record_changed(self, lock: PairedLock) -> None:
        self.paired_lock = lock
        self._listener.lock_record_changed(lock)

    def _arm_silence_watch(self) -> None:
        self._set_timer("silence", self.timings.silence_limit, self._silence_reached)

    def _silence_reached(self) -> None:
        self._listener.lock_silent()
        current = self._current
        if current is not None:
            self._start_task(
                self._check_still_answers(current), "secure_lock status check"
            )

    def _link_restored(self, current: _Current) -> None:
        """Ask for the state once the path's link is back by itself (another node).

        Whatever the lock sent meanwhile went nowhere, so its state is asked
        for now rather than left to the next heartbeat.
        """
        if self._current is current and not self._stopped:
            self._start_task(
                self._check_still_answers(current), "secure_lock status after reconnect"
            )

    async def _check_still_answers(self, current: _Current) -> None:
        """Ask over the silent path; give it up unless the lock answers, signed."""
        try:
            await current.client.status(timeout=self.timings.answer_timeout)
        except CommandRefused as err:
            # Answered, so the path works; but a controller removed while we
            # listened hears only this, as heartbeats no longer reach it.
            if err.code is ResultCode.REVOKED:
                self._halt()
                self._listener.controller_revoked()
            return
        except CommandTimeout, LinkUnavailable:
            self.away_s += self.timings.answer_timeout
            _LOGGER.debug(
                "No answer over %s; trying the other paths", current.path.value
            )
            current.given_up.set()

    # Timers and tasks ----------------------------------------------------------

    def _set_timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = asyncio.get_running_loop().call_later(
            delay, self._timer_fired, name, callback
        )

    def _timer_fired(self, name: str, callback: Callable[[], None]) -> None:
        self._timers.pop(name, None)
        callback()

    def _cancel_timer(self, name: str) -> None:
        if (handle := self._timers.pop(name, None)) is not None:
            handle.cancel()

    def _start_own_task(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._own_tasks.add(task)
        task.add_done_callback(self._own_tasks.discard)

    # Stopping ----------------------------------------------------------------

    def _halt(self) -> None:
        self._stopped = True
        for name in list(self._timers):
            self._cancel_timer(name)

    async def stop(self) -> None:
        """Stop reconnecting and close the path in use."""
        self._halt()
        current, self._current = self._current, None
        if current is not None:
            current.given_up.set()
            await _close(current.client)
        tasks = list(self._own_tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _close(client: LockClient) -> None:
    await client.close()
    await client.link.close()
