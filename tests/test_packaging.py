"""What HACS and hassfest check on the packaging, checked here on every run."""

from __future__ import annotations

import json
from pathlib import Path
import re

from awesomeversion import AwesomeVersion
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


def test_manifest_requirements_pinned_and_installed_in_both_environments() -> None:
    """Every requirement is pinned, and both test environments install that pin."""
    for requirement in MANIFEST["requirements"]:
        assert "==" in requirement, f"{requirement} is not pinned"
        for env in ("latest", "minimum"):
            text = (REPO_ROOT / "requirements" / f"{env}.txt").read_text()
            assert requirement in text.split(), f"{requirement} missing from {env}.txt"


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
