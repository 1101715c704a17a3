"""Write translations/en.json from strings.json, resolving `[%key:...%]` references.

Home Assistant core does this with its own translation tooling; custom
integrations ship the resolved English file themselves.  Run after editing
strings.json: `.venvs/latest/bin/python scripts/make_translations.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import homeassistant

INTEGRATION = (
    Path(__file__).resolve().parent.parent / "custom_components" / "secure_lock"
)
HA_DIR = Path(homeassistant.__file__).parent
REFERENCE = re.compile(r"\[%key:([a-z0-9_:]+)%\]")


def _lookup(path: str) -> str:
    parts = path.split("::")
    if parts[0] == "common":
        node: Any = json.loads((HA_DIR / "strings.json").read_text(encoding="utf-8"))
    elif parts[0] == "component":
        folder = (
            INTEGRATION
            if parts[1] == INTEGRATION.name
            else HA_DIR / "components" / parts[1]
        )
        node = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
        parts = parts[2:]
    else:
        raise SystemExit(f"unknown reference {path}")
    for part in parts:
        node = node[part]
    return REFERENCE.sub(lambda m: _lookup(m.group(1)), node)


def _resolve(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _resolve(value) for key, value in node.items()}
    return REFERENCE.sub(lambda m: _lookup(m.group(1)), node)


def main() -> None:
    """Write the English translation."""
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    target = INTEGRATION / "translations" / "en.json"
    target.write_text(
        json.dumps(_resolve(strings), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
