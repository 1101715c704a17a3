"""quality_scale.yaml lists all 54 rules with a valid status."""

from __future__ import annotations

from homeassistant.util.yaml import load_yaml_dict

from .conftest import INTEGRATION_DIR

BRONZE = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency",
    "docs-actions", "docs-conditions", "docs-high-level-description",
    "docs-installation-instructions", "docs-removal-instructions",
    "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure",
    "test-before-setup", "unique-config-entry",
}  # fmt: skip
SILVER = {
    "action-exceptions", "config-entry-unloading",
    "docs-configuration-parameters", "docs-installation-parameters",
    "entity-unavailable", "integration-owner", "log-when-unavailable",
    "parallel-updates", "reauthentication-flow", "test-coverage",
}  # fmt: skip
GOLD = {
    "devices", "diagnostics", "discovery-update-info", "discovery",
    "docs-data-update", "docs-examples", "docs-known-limitations",
    "docs-supported-devices", "docs-supported-functions",
    "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
}  # fmt: skip
PLATINUM = {"async-dependency", "inject-websession", "strict-typing"}


def test_all_rules_listed_with_valid_status() -> None:
    """Every rule of every tier appears once, as done, todo, or exempt with a reason."""
    assert (len(BRONZE), len(SILVER), len(GOLD), len(PLATINUM)) == (20, 10, 21, 3)
    rules = load_yaml_dict(str(INTEGRATION_DIR / "quality_scale.yaml"))["rules"]
    assert set(rules) == BRONZE | SILVER | GOLD | PLATINUM
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] == "exempt", rule
            assert len(status["comment"]) > 20, f"{rule}: exemption needs a reason"
        else:
            assert status in {"done", "todo"}, rule
