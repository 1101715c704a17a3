"""`device_sim firmware`: release keys, signed releases, release directories."""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from custom_components.secure_lock.controller.firmware import load_release
from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.firmware import FirmwareVersion

from .lock_device import DeviceConfig
from .release_tool import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    ReleaseToolError,
    build_release,
    create_release_key,
    generate_test_image,
    load_public_key,
    load_signing_key,
    publish,
)

_DEFAULT_MODEL = DeviceConfig().model
_DEFAULT_TEST_IMAGE_SIZE = 64 * 1024


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the `firmware` subcommand and its actions."""
    parser = subparsers.add_parser(
        "firmware",
        help="manufacturer tools: release key, build and sign releases",
        description=(
            "Create the manufacturer release key, build and sign firmware releases, "
            "and publish them as release directories (manifest.slfw, image.bin, "
            "release.json) that `client update` installs. The release key is not "
            "the dev CA: keep it in its own directory."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    keygen = actions.add_parser(
        "keygen",
        help="create a release key pair",
        description=(
            f"Write {PRIVATE_KEY_FILE} (private, 0600) and {PUBLIC_KEY_FILE} (public, "
            "give it to locks with `lock --release-key`) into DIR. Ed25519, plus "
            "ML-DSA-65 when the cryptography backend supports it. Never overwrites."
        ),
    )
    keygen.add_argument("directory", type=Path, help="new directory for the key pair")
    keygen.set_defaults(handler=_keygen)

    release = actions.add_parser(
        "release",
        help="build, sign and publish a release directory",
        description="Describe an image in a manifest, sign it, and write RELEASE_DIR.",
    )
    release.add_argument(
        "--key", type=Path, required=True, help=f"the private key ({PRIVATE_KEY_FILE})"
    )
    release.add_argument(
        "--version", required=True, metavar="X.Y.Z", help="the release's version"
    )
    source = release.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, help="the firmware image file")
    source.add_argument(
        "--test-image-size",
        type=int,
        metavar="BYTES",
        help=f"generate a deterministic test image of this size "
        f"(the default, {_DEFAULT_TEST_IMAGE_SIZE} bytes, when --image is not given)",
    )
    release.add_argument(
        "--model",
        default=_DEFAULT_MODEL,
        help=f"model the image is for (default: {_DEFAULT_MODEL!r})",
    )
    release.add_argument(
        "--security-version",
        type=int,
        default=0,
        help="anti-rollback level: locks that ran a higher one refuse this release",
    )
    release.add_argument(
        "--min-version",
        default="0.0.0",
        metavar="X.Y.Z",
        help="oldest running version this release may be installed over",
    )
    notes = release.add_mutually_exclusive_group()
    notes.add_argument("--notes", default="", help="release notes (UTF-8, <= 2 KiB)")
    notes.add_argument("--notes-file", type=Path, help="read release notes from a file")
    release.add_argument(
        "--out",
        type=Path,
        required=True,
        help="release directory to write (new or empty)",
    )
    release.set_defaults(handler=_release)

    show = actions.add_parser(
        "show",
        help="print a release directory's manifest, and verify it",
        description="Print the manifest; with --public-key also verify its signatures.",
    )
    show.add_argument("directory", type=Path, help="the release directory")
    show.add_argument(
        "--public-key", type=Path, help=f"the release public key ({PUBLIC_KEY_FILE})"
    )
    show.set_defaults(handler=_show)


def _keygen(args: argparse.Namespace) -> int:
    try:
        files = create_release_key(args.directory)
    except ReleaseToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"private key {files.private} (0600; keep it secret)")
    print(f"public key  {files.public}")
    return 0


def _release(args: argparse.Namespace) -> int:
    try:
        version = FirmwareVersion.parse(args.version)
        min_version = FirmwareVersion.parse(args.min_version)
        key = load_signing_key(args.key)
        if args.image is not None:
            image = args.image.read_bytes()
        else:
            image = generate_test_image(
                version, args.test_image_size or _DEFAULT_TEST_IMAGE_SIZE
            )
        notes = (
            args.notes_file.read_text(encoding="utf-8")
            if args.notes_file is not None
            else args.notes
        )
        signed = build_release(
            key,
            image,
            model=args.model,
            version=version,
            security_version=args.security_version,
            min_version=min_version,
            notes=notes,
        )
        publish(args.out, signed, image)
    except (ReleaseToolError, ProtocolError, OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"published {signed.manifest.model} {version} ({len(image)} bytes) in {args.out}"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        release = load_release(args.directory)
        if args.public_key is not None:
            release.verify(load_public_key(args.public_key))
    except (ReleaseToolError, ProtocolError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    manifest = release.manifest
    print(f"model            {manifest.model}")
    print(f"version          {manifest.version}")
    print(f"security version {manifest.security_version}")
    print(f"min version      {manifest.min_version}")
    print(
        f"image            {manifest.image_size} bytes, sha256 {manifest.image_sha256.hex()}"
    )
    print(f"transfer id      {release.transfer_id.hex()}")
    if args.public_key is not None:
        print("signatures       verified")
    if manifest.release_notes:
        print(f"notes            {manifest.release_notes}")
    return 0
