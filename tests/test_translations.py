"""Every string the integration shows is translated, and icons.json is valid."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from typing import Any

import homeassistant

from .conftest import INTEGRATION_DIR

STRINGS = json.loads((INTEGRATION_DIR / "strings.json").read_text(encoding="utf-8"))
EN = json.loads(
    (INTEGRATION_DIR / "translations" / "en.json").read_text(encoding="utf-8")
)
HA_DIR = Path(homeassistant.__file__).parent
REFERENCE = re.compile(r"\[%key:([a-z0-9_:]+)%\]")


def _lookup(path: str) -> str:
    """Resolve a `[%key:...%]` reference the way Home Assistant's translation build does."""
    parts = path.split("::")
    if parts[0] == "common":
        source = json.loads((HA_DIR / "strings.json").read_text(encoding="utf-8"))
        node: Any = source
    elif parts[0] == "component":
        domain = parts[1]
        folder = (
            INTEGRATION_DIR
            if domain == INTEGRATION_DIR.name
            else HA_DIR / "components" / domain
        )
        node = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
        parts = parts[2:]
    else:
        raise AssertionError(f"unknown reference {path}")
    for part in parts:
        node = node[part]
    assert isinstance(node, str), path
    return REFERENCE.sub(lambda m: _lookup(m.group(1)), node)


def _resolve(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _resolve(value) for key, value in node.items()}
    return REFERENCE.sub(lambda m: _lookup(m.group(1)), node)


def _flow_keys(module: Path) -> dict[str, set[str]]:
    """Collect step ids, errors, abort reasons and exception keys used in a module."""
    found: dict[str, set[str]] = {
        "step": set(),
        "error": set(),
        "abort": set(),
        "exceptions": set(),
    }
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if not isinstance(value, ast.Constant) or not isinstance(
                    value.value, str
                ):
                    continue
                if keyword.arg == "step_id":
                    found["step"].add(value.value)
                elif keyword.arg == "reason":
                    found["abort"].add(value.value)
                elif keyword.arg == "translation_key" and _is_exception(node):
                    found["exceptions"].add(value.value)
        elif isinstance(node, ast.Assign):
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "errors"
                and isinstance(node.value, ast.Constant)
            ):
                found["error"].add(node.value.value)
    return found


def _is_exception(call: ast.Call) -> bool:
    name = (
        call.func.id
        if isinstance(call.func, ast.Name)
        else getattr(call.func, "attr", "")
    )
    return name.endswith(("Error", "Exception", "NotReady", "Failed"))


def test_english_translation_matches_strings() -> None:
    """translations/en.json is strings.json with every reference resolved."""
    assert _resolve(STRINGS) == EN


def test_every_flow_step_error_abort_and_exception_is_translated() -> None:
    """Each step, error, abort reason and exception key used in code has a string."""
    config = STRINGS.get("config", {})
    for module in sorted(INTEGRATION_DIR.glob("*.py")):
        keys = _flow_keys(module)
        options = STRINGS.get("options", {})
        for step in keys["step"]:
            assert step in config.get("step", {}) or step in options.get("step", {}), (
                f"{module.name}: step {step}"
            )
        for error in keys["error"]:
            assert error in config.get("error", {}) or error in options.get(
                "error", {}
            ), f"{module.name}: error {error}"
        for reason in keys["abort"]:
            sections = (
                config.get("abort", {}),
                STRINGS.get("options", {}).get("abort", {}),
            )
            assert any(reason in s for s in sections), f"{module.name}: abort {reason}"
        for key in keys["exceptions"]:
            assert key in STRINGS.get("exceptions", {}), (
                f"{module.name}: exception {key}"
            )


def test_flow_key_collector_sees_real_usage(tmp_path: Path) -> None:
    """The collector above finds keys, so the translation test cannot pass vacuously."""
    module = tmp_path / "flow.py"
    module.write_text(
        "errors['base'] = 'cannot_connect'\n"
        "self.async_show_form(step_id='user')\n"
        "self.async_abort(reason='already_configured')\n"
        "raise HomeAssistantError(translation_domain=DOMAIN, translation_key='jammed')\n"
    )
    assert _flow_keys(module) == {
        "step": {"user"},
        "error": {"cannot_connect"},
        "abort": {"already_configured"},
        "exceptions": {"jammed"},
    }


def test_icons_json_valid() -> None:
    """icons.json has only known sections, and every entity icon has a translated name."""
    icons = json.loads((INTEGRATION_DIR / "icons.json").read_text(encoding="utf-8"))
    assert set(icons) <= {"entity", "services"}
    mdi = re.compile(r"^mdi:[a-z0-9-]+$")
    for platform, entities in icons.get("entity", {}).items():
        for key, spec in entities.items():
            assert key in STRINGS["entity"][platform], f"{platform}.{key} has no name"
            assert mdi.match(spec["default"]), spec
            for state_icon in spec.get("state", {}).values():
                assert mdi.match(state_icon)
    for service, spec in icons.get("services", {}).items():
        assert mdi.match(spec["service"]), service
