"""Give the development Home Assistant its HTTP settings without YAML.

Since 2026.10 Home Assistant keeps its HTTP settings in storage and treats an
`http:` block in configuration.yaml as a deprecated import: the first start
shows a "revert in 5:00" dialog and a repair.  scripts/develop runs this
before Home Assistant's first start instead: it writes the confirmed
("stable") settings, loopback only on port 8123, into config/.storage/http
with Home Assistant's own schema.  An existing file (the user changed the
settings in the UI) is left alone; a release without HTTP storage is skipped.

Usage: `.venvs/latest/bin/python scripts/seed_http_config.py CONFIG_DIR`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import sys

SETTINGS = {"server_host": ["127.0.0.1"], "server_port": 8123}


def main(config_dir: Path) -> int:
    """Write config_dir/.storage/http unless it exists."""
    try:
        from homeassistant.components.http import config as http_config  # noqa: PLC0415
        from homeassistant.util import dt as dt_util  # noqa: PLC0415
    except ImportError:
        return 0
    if not hasattr(http_config, "HTTP_STORAGE_SCHEMA"):
        return 0  # before 2026.10: the defaults apply
    target = config_dir / ".storage" / http_config.STORAGE_KEY
    if target.exists():
        return 0
    stable = {
        **http_config.HTTP_STORAGE_SCHEMA(dict(SETTINGS)),
        "created_at": dt_util.utcnow().isoformat(),
        "error": None,
        "error_message": None,
    }
    document = {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    temp.chmod(0o600)
    temp.replace(target)
    print(f"[develop] HTTP settings (127.0.0.1:8123) written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
