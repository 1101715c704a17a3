"""quality_scale.yaml lists all 54 rules with a valid status."""

from __future__ import annotations

from homeassistant.util import slugify
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
    """Every rule of every tier appears once, as done or exempt with a reason (no todo)."""
    assert (len(BRONZE), len(SILVER), len(GOLD), len(PLATINUM)) == (20, 10, 21, 3)
    rules = load_yaml_dict(str(INTEGRATION_DIR / "quality_scale.yaml"))["rules"]
    assert set(rules) == BRONZE | SILVER | GOLD | PLATINUM
    for rule, status in rules.items():
        if isinstance(status, dict):
            # A comment explains an exemption, or how a rule is met.
            assert status["status"] in {"exempt", "done"}, rule
            assert len(status["comment"]) > 20, f"{rule}: the comment needs a reason"
        else:
            assert status == "done", rule


# Where the README fulfils each documentation rule.
DOCS_SECTIONS = {
    "docs-actions": "## Actions",
    "docs-configuration-parameters": "### Settings after pairing",
    "docs-data-update": "**How the data is updated.**",
    "docs-examples": "## Automations",
    "docs-high-level-description": "# Secure Lock",
    "docs-installation-instructions": "## Install",
    "docs-installation-parameters": "## Pair a lock",
    "docs-known-limitations": "## Known limitations",
    "docs-removal-instructions": "## Removal",
    "docs-supported-devices": "## Supported devices",
    "docs-supported-functions": "## Entities",
    "docs-troubleshooting": "## Troubleshooting",
    "docs-use-cases": "## Use cases",
}


def test_documentation_rules_marked_done_are_in_the_readme() -> None:
    """A docs-* rule is done only if the README has its section."""
    rules = load_yaml_dict(str(INTEGRATION_DIR / "quality_scale.yaml"))["rules"]
    readme = (INTEGRATION_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    for rule, status in rules.items():
        if rule.startswith("docs-") and status == "done":
            heading = DOCS_SECTIONS[rule]
            assert any(line.startswith(heading) for line in lines), rule


def test_readme_documents_every_action_entity_and_option() -> None:
    """Each action, entity and option the integration offers has its line."""
    readme = (INTEGRATION_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    actions = load_yaml_dict(str(INTEGRATION_DIR / "services.yaml"))
    for action in actions:
        assert f"`secure_lock.{action}`" in readme, action
    strings = load_yaml_dict(str(INTEGRATION_DIR / "strings.json"))
    for platform, entities in strings["entity"].items():
        for key, entity in entities.items():
            # Entity ids come from the English name, as Home Assistant makes them.
            object_id = slugify(entity["name"])
            assert f"`{platform}.<name>_{object_id}`" in readme, f"{platform}.{key}"
    for option in strings["options"]["step"]["settings"]["data"].values():
        assert f"*{option}*" in readme, option
