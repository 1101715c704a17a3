"""How an invitation is shown to the admin who made it: code, QR image, times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import segno

from .controller.invitations import IssuedInvitation


def _iso(ms: int) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


def invitation_qr(invitation: IssuedInvitation) -> str:
    """Return the invitation's QR code as a PNG data URI (for a flow's description)."""
    return str(
        segno.make(invitation.code.qr_text(), error="m").png_data_uri(scale=4, border=2)
    )


def invitation_response(invitation: IssuedInvitation) -> dict[str, Any]:
    """Return what the create_invitation action answers (the code is the secret)."""
    return {
        "invitation_id": invitation.invitation_id.hex(),
        "setup_code": invitation.code.manual_code(),
        "qr_text": invitation.code.qr_text(),
        "role": invitation.role.name.lower(),
        "expires_at": _iso(invitation.expires_at_ms),
        "valid_from": _iso(invitation.valid_from_ms),
        "valid_until": _iso(invitation.valid_until_ms),
    }
