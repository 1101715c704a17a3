"""Set a keypad code from the integration's options (Configure), with a typed PIN.

Actions take no PIN (the recorder keeps every action's data); a form
can: what a user types into a flow is handed to the flow and to nothing
else, so the PIN goes from the form into the sealed request and is gone.
Without a PIN the lock draws one, and the next step shows it once.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    DateTimeSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .controller.keypad import set_keypad_code
from .coordinator import SecureLockCoordinator
from .keypad_services import (
    ATTR_DAYS,
    ATTR_END,
    ATTR_NAME,
    ATTR_SLOT,
    ATTR_START,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKLY,
    name_fits,
    schedule_from,
)
from .protocol.keypad_codes import MAX_KEYPAD_CODES, WEEKDAYS, check_pin

ATTR_PIN = "pin"


class KeypadCodeSteps(OptionsFlowWithReload):
    """The options flow's keypad code form and the step that shows a drawn PIN once."""

    _keypad_shown: dict[str, str] | None = None

    async def async_step_keypad_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for slot, name, PIN (or none: the lock draws one) and schedule."""
        errors: dict[str, str] = {}
        if user_input is not None:
            pin = user_input.get(ATTR_PIN, "")
            try:
                if pin:
                    check_pin(pin)
            except ValueError:
                errors[ATTR_PIN] = "invalid_pin"
            if not name_fits(user_input[ATTR_NAME]):
                errors[ATTR_NAME] = "name_too_long"
            if not errors:
                errors = await self._set_code(user_input, pin)
                if not errors:
                    return await self.async_step_keypad_code_set()
        return self.async_show_form(
            step_id="keypad_code",
            data_schema=self.add_suggested_values_to_schema(
                _form_schema(),
                # The PIN is never offered back, not even after an error.
                {k: v for k, v in (user_input or {}).items() if k != ATTR_PIN},
            ),
            errors=errors,
        )

    async def _set_code(self, user_input: dict[str, Any], pin: str) -> dict[str, str]:
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return {"base": "cannot_connect"}
        coordinator: SecureLockCoordinator = self.config_entry.runtime_data.lock
        slot, name = int(user_input[ATTR_SLOT]), user_input[ATTR_NAME]
        try:
            schedule = schedule_from(_schedule_data(user_input))
            result = await coordinator.async_call(
                lambda client: set_keypad_code(
                    client, slot, name, schedule, pin=pin or None, generate=not pin
                )
            )
        except vol.Invalid, ServiceValidationError:
            return {"base": "invalid_keypad_schedule"}
        except HomeAssistantError:
            return {"base": "keypad_code_failed"}
        self._keypad_shown = {"name": name, "pin": result.generated_pin}
        return {}

    async def async_step_keypad_code_set(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say the code is set; a PIN the lock drew is shown here, once."""
        shown = self._keypad_shown
        if user_input is not None or shown is None:
            self._keypad_shown = None
            return self.async_abort(reason="keypad_code_shown")
        if not shown["pin"]:
            self._keypad_shown = None
            return self.async_abort(
                reason="keypad_code_set",
                description_placeholders={"name": shown["name"]},
            )
        return self.async_show_form(
            step_id="keypad_code_set", description_placeholders=shown
        )


def _form_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(ATTR_SLOT, default=0): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=MAX_KEYPAD_CODES - 1, mode=NumberSelectorMode.BOX
                )
            ),
            vol.Required(ATTR_NAME): TextSelector(),
            vol.Optional(ATTR_PIN): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Optional(ATTR_DAYS): SelectSelector(
                SelectSelectorConfig(
                    options=list(WEEKDAYS), multiple=True, translation_key="weekday"
                )
            ),
            vol.Optional(ATTR_START): TimeSelector(),
            vol.Optional(ATTR_END): TimeSelector(),
            vol.Optional(ATTR_VALID_FROM): DateTimeSelector(),
            vol.Optional(ATTR_VALID_UNTIL): DateTimeSelector(),
        }
    )


def _schedule_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """Turn the form's strings into what `schedule_from` takes (raises vol.Invalid)."""
    data: dict[str, Any] = {}
    if user_input.get(ATTR_DAYS):
        data[ATTR_WEEKLY] = [
            {
                ATTR_DAYS: user_input[ATTR_DAYS],
                ATTR_START: cv.time(user_input.get(ATTR_START, "00:00")),
                ATTR_END: cv.time(user_input.get(ATTR_END, "00:00")),
            }
        ]
    for key in (ATTR_VALID_FROM, ATTR_VALID_UNTIL):
        if user_input.get(key):
            moment = dt_util.parse_datetime(user_input[key])
            if moment is None:
                raise vol.Invalid(key)
            data[key] = moment
    return data
