"""Constants for the Secure Lock integration."""

from typing import Final

DOMAIN: Final = "secure_lock"
