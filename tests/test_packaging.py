"""What HACS and hassfest check on the packaging, checked here on every run."""

from __future__ import annotations

import ast
from importlib.metadata import packages_distributions, version
import json
from pathlib import Path
import re
import sys

from awesomeversion import AwesomeVersion
import homeassistant
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image
import pytest

from .conftest import INTEGRATION_DIR, REPO_ROOT

MANIFEST = json.loads((INTEGRATION_DIR / "manifest.json").read_text(encoding="utf-8"))

# The keys HACS's hacs.json schema accepts (it rejects any other key).
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}
# Used through Home Assistant's own API (its HTTP session, its schemas) and
# installed with it: never declared, so Home Assistant's version always wins.
PROVIDED_BY_HOME_ASSISTANT = {"homeassistant", "aiohttp", "voluptuous"}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}


def _pinned_homeassistant(requirements: Path) -> str:
    match = re.search(r"^homeassistant==(\S+)$", requirements.read_text(), re.MULTILINE)
    assert match, f"{requirements} does not pin homeassistant"
    return match.group(1)


def test_manifest_keys_sorted_domain_and_name_first() -> None:
    """Hassfest wants domain, name, then the other keys in alphabetical order."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_required_values() -> None:
    """HACS and hassfest require these keys with valid values."""
    assert MANIFEST["domain"] == INTEGRATION_DIR.name == "secure_lock"
    assert MANIFEST["name"] == "Secure Lock"
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["documentation"].startswith("https://")
    assert MANIFEST["issue_tracker"].startswith("https://")
    assert MANIFEST["integration_type"] == "device"
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert AwesomeVersion(MANIFEST["version"]).valid
    if MANIFEST.get("config_flow"):
        assert (INTEGRATION_DIR / "config_flow.py").is_file()


def _declared() -> dict[str, Requirement]:
    return {
        canonicalize_name(req.name): req
        for req in map(Requirement, MANIFEST["requirements"])
    }


def _pins(text: str) -> dict[str, str]:
    """Return ``name==version`` lines of a requirements or constraints file."""
    return {
        canonicalize_name(name): pinned
        for name, pinned in re.findall(
            r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.MULTILINE
        )
    }


def test_manifest_requirements_are_ranges_home_assistant_satisfies() -> None:
    """Each requirement is a range that Home Assistant's own pin satisfies.

    A range lets Home Assistant's pin win (one copy for all integrations);
    the version installed here and those the test environments pin must be
    inside it too, so what is tested is what the range allows.
    """
    constraints = _pins(
        (Path(homeassistant.__file__).parent / "package_constraints.txt").read_text()
    )
    environments = {
        env: _pins((REPO_ROOT / "requirements" / f"{env}.txt").read_text())
        for env in ("latest", "minimum")
    }
    for name, requirement in _declared().items():
        specifier = requirement.specifier
        assert specifier, f"{requirement} has no version range"
        assert all(spec.operator != "==" for spec in specifier), f"{requirement} pins"
        assert specifier.contains(version(name)), (
            f"installed {name} outside {specifier}"
        )
        if name in constraints:
            assert specifier.contains(constraints[name]), f"HA pins {name} outside"
        # Home Assistant's pin, or the test environments' own pin, is tested.
        assert name in constraints or all(name in p for p in environments.values())
        for env, pins in environments.items():
            if name in pins:
                assert specifier.contains(pins[name]), f"{env}.txt pins {name} outside"


def _imported_packages() -> set[str]:
    """Return the top-level third-party packages the integration imports."""
    found: set[str] = set()
    for path in INTEGRATION_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.partition(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names}


def test_manifest_requirements_declare_what_the_code_imports() -> None:
    """Every library the code imports is declared, unless Home Assistant itself provides it."""
    declared = set(_declared())
    distributions = packages_distributions()
    for package in _imported_packages() - PROVIDED_BY_HOME_ASSISTANT:
        owners = {canonicalize_name(d) for d in distributions.get(package, [])}
        assert owners & declared, f"{package} is imported but not a requirement"
    # And nothing is declared that the code does not import.
    imported = {
        canonicalize_name(d)
        for package in _imported_packages()
        for d in distributions.get(package, [])
    }
    assert declared <= imported, declared - imported


def test_loggers_name_the_libraries_not_the_integration() -> None:
    """``loggers`` lists the requirements' logger namespaces, never the integration's own."""
    declared = set(_declared())
    distributions = packages_distributions()
    assert MANIFEST["loggers"]
    for logger in MANIFEST["loggers"]:
        assert not logger.startswith("custom_components"), logger
        owners = {canonicalize_name(d) for d in distributions.get(logger, [])}
        assert owners & declared, f"{logger} is not the logger of a requirement"


def test_hacs_json_schema_and_minimum_version() -> None:
    """hacs.json has only keys HACS accepts and names the minimum supported version."""
    hacs = json.loads((REPO_ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert set(hacs) <= HACS_KEYS, f"unknown hacs.json keys: {set(hacs) - HACS_KEYS}"
    assert hacs["name"] == MANIFEST["name"]
    assert "zip_release" not in hacs or "filename" in hacs
    minimum = _pinned_homeassistant(REPO_ROOT / "requirements" / "minimum.txt")
    assert hacs["homeassistant"] == minimum
    assert AwesomeVersion(minimum) <= AwesomeVersion(
        _pinned_homeassistant(REPO_ROOT / "requirements" / "latest.txt")
    )


@pytest.mark.parametrize(
    ("name", "size"), [("icon.png", (256, 256)), ("icon@2x.png", (512, 512))]
)
def test_brand_icon(name: str, size: tuple[int, int]) -> None:
    """HACS's brands check needs brand/icon.png; Home Assistant's guidelines fix its size."""
    with Image.open(INTEGRATION_DIR / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.size == size
        assert image.mode == "RGBA", "the icon needs a transparent background"


@pytest.mark.parametrize("name", ["logo.png", "logo@2x.png"])
def test_brand_logo(name: str) -> None:
    """The logo is a landscape PNG with transparency."""
    with Image.open(INTEGRATION_DIR / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        width, height = image.size
        assert width >= height


def test_license_is_osi_approved() -> None:
    """HACS rejects repositories without an OSI-approved licence."""
    text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_top_level_layout() -> None:
    """The repository layout HACS and the developer scripts rely on."""
    for path in (
        "custom_components/secure_lock",
        "device_sim",
        "tests",
        "scripts/setup",
        "scripts/test",
        "scripts/develop",
        "docs",
        "bench",
        "hacs.json",
        "README.md",
        "pyproject.toml",
        "LICENSE",
        ".ci/run",
    ):
        assert (REPO_ROOT / path).exists(), path
    # HACS manages only the first integration of a repository.
    assert [
        p.name
        for p in (REPO_ROOT / "custom_components").iterdir()
        if p.is_dir() and not p.name.startswith("__")
    ] == ["secure_lock"]
