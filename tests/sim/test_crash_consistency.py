"""kill -9 the simulated lock process at random moments; its state must stay sound.

The invariants are checked inside `device_sim.crash_test` after every restart
(state loads, controller intact, counters never backward, no frame acted on
twice).  CI runs 50 cycles; `python -m device_sim.crash_test` runs 500.
"""

from __future__ import annotations

import os
from pathlib import Path

from device_sim.crash_test import run

CYCLES = int(os.environ.get("SECURE_LOCK_CRASH_CYCLES", "50"))


async def test_kill_minus_nine_loop(tmp_path: Path, socket_enabled: None) -> None:
    """Fifty kill -9 cycles with commands in flight leave a consistent lock."""
    report = await run(CYCLES, tmp_path, seed=CYCLES)
    assert report.cycles == CYCLES
    assert report.kills_during_commands >= CYCLES // 3
    assert 0 < report.commands_confirmed < report.commands_sent
    assert report.replays_sent > 0
