"""An admin's requests about who may use the lock, and the join notices admins get.

Adding and removing controllers, listing them, creating and revoking
invitations: each change is audited and persisted before the admin hears it
happened.  When a controller joins (added here, or by a pairing made final
in `join_desk`), every admin is told who joined, with which role, through
whose invitation.
"""

from __future__ import annotations

import logging

from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.messages import (
    NO_CONTROLLER,
    ControllerAdd,
    ControllerJoined,
    ControllerListChunk,
    ControllerRemove,
    InvitationCreate,
    InvitationRevoke,
    JoinMethod,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.session import VerifiedMessage
from custom_components.secure_lock.protocol.setup_code import discriminator_of
from custom_components.secure_lock.protocol.suites import choose_suite

from .joining import InvitationRefused
from .lock_services import LockServices
from .secure_element import SecureElement
from .traffic_shape import padded_chunks

_LOGGER = logging.getLogger(__name__)

CONTROLLER_LIST_CHUNK_SIZE = 4
CONTROLLER_LIST_CHUNKS = 4
"""Frames per controller list answer, for up to 16 controllers (then 8, ...)."""


class ControllerAdmin:
    """Carries out controller and invitation requests (the role check came first)."""

    def __init__(self, lock: LockServices, element: SecureElement) -> None:
        """Act on `lock`; `element` holds the lock's own prekeys (for the suite)."""
        self._lock = lock
        self._element = element

    def add_controller(self, message: VerifiedMessage) -> None:
        """Register a public key directly, then announce the join."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, ControllerAdd)
        if request.role is Role.GUEST and not request.valid_until_ms:
            lock.respond(
                message, ResultCode.INVALID_REQUEST, "guests need an end of validity"
            )
            return
        suite = choose_suite(
            tuple(p.suite for p in request.bundle.prekeys),
            tuple(p.suite for p in self._element.public_bundle().prekeys),
        )
        if suite is None:
            lock.respond(message, ResultCode.INVALID_REQUEST, "no common suite")
            return
        registry = lock.state.registry
        existing = registry.get(request.bundle.key_id)
        if existing is not None and not existing.revoked:
            lock.respond(
                message, ResultCode.INVALID_REQUEST, "controller already paired"
            )
            return
        registry.add(
            ControllerRecord(
                request.bundle.key_id,
                request.name,
                request.bundle,
                request.role,
                suite,
                request.valid_from_ms,
                request.valid_until_ms,
            )
        )
        lock.audit(message, ResultCode.OK)
        lock.persist()
        lock.respond(message, ResultCode.OK)
        sender = registry.get(message.sender_id)
        self.announce_join(
            request.bundle.key_id,
            JoinMethod.ADMIN_ADD,
            message.sender_id,
            sender.name if sender else "",
        )

    def remove_controller(self, message: VerifiedMessage) -> None:
        """Revoke a controller (never the last admin, unless it removes itself)."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, ControllerRemove)
        registry = lock.state.registry
        record = registry.get(request.controller_id)
        if record is None or record.revoked:
            lock.respond(message, ResultCode.NOT_FOUND, "no such controller")
            return
        admins = registry.admins()
        if (
            record.role is Role.ADMIN
            and len(admins) == 1
            and request.controller_id != message.sender_id
        ):
            lock.respond(
                message, ResultCode.INVALID_REQUEST, "cannot remove the last admin"
            )
            return
        registry.revoke(request.controller_id)
        lock.audit(message, ResultCode.OK)
        # Revocation is durable before the admin hears it happened.
        lock.persist()
        lock.respond(message, ResultCode.OK)

    def list_controllers(self, message: VerifiedMessage) -> None:
        """Answer with the registry's summaries, a few per chunk."""
        lock = self._lock
        chunks = padded_chunks(
            list(lock.state.registry.summaries()),
            CONTROLLER_LIST_CHUNK_SIZE,
            CONTROLLER_LIST_CHUNKS,
        )
        frames = []
        for index, chunk in enumerate(chunks):
            try:
                frames.append(
                    lock.endpoint.respond(
                        message, ControllerListChunk(index, len(chunks), tuple(chunk))
                    )
                )
            except ProtocolError as err:
                _LOGGER.warning("Could not seal a controller list: %s", err.code.value)
                return
        lock.send(frames)

    def create_invitation(self, message: VerifiedMessage) -> None:
        """Record a one-time invitation the admin hands out."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, InvitationCreate)
        sender = lock.state.registry.get(message.sender_id)
        try:
            lock.state.joins.create(
                request,
                message.sender_id,
                sender.name if sender else "",
                lock.now_ms(),
                label_discriminator=discriminator_of(lock.endpoint.identity.lock_id),
            )
        except InvitationRefused as err:
            lock.respond(message, ResultCode.INVALID_REQUEST, str(err))
            return
        lock.audit(message, ResultCode.OK)
        # The invitation is durable before the admin hands it out.
        lock.persist()
        lock.respond(message, ResultCode.OK)

    def revoke_invitation(self, message: VerifiedMessage) -> None:
        """Withdraw an invitation, and a join it let in that is not final yet."""
        lock = self._lock
        request = message.payload
        assert isinstance(request, InvitationRevoke)
        try:
            join = lock.state.joins.revoke(request.invitation_id)
        except KeyError:
            lock.respond(message, ResultCode.NOT_FOUND, "no such invitation")
            return
        if join is not None:
            # Taken back before the join was final: that controller is gone too.
            lock.state.registry.records.pop(join.controller_id, None)
        lock.audit(message, ResultCode.OK)
        lock.persist()
        lock.respond(message, ResultCode.OK)

    def announce_join(
        self,
        controller_id: bytes,
        method: JoinMethod,
        invited_by: bytes = NO_CONTROLLER,
        invited_by_name: str = "",
    ) -> None:
        """Tell every admin who joined, with which role, through whose invitation."""
        lock = self._lock
        record = lock.state.registry.get(controller_id)
        if record is None:
            return
        notice = ControllerJoined(
            record.summary(), method, invited_by, invited_by_name, lock.now_ms()
        )
        frames = []
        for admin in lock.state.registry.admins():
            if admin.controller_id in lock.state.joins.pending:
                continue
            try:
                frames.append(
                    lock.endpoint.seal(
                        admin.controller_id, MessageKind.CONTROLLER_JOINED, notice
                    )
                )
            except ProtocolError as err:
                _LOGGER.warning("Could not seal a join notice: %s", err.code.value)
        lock.send(frames)
