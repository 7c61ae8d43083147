"""`lockship verify-image REF --public-key FILE`: check the registry's image carries a signature by that key.

The signature is the sigstore-format artifact `lockship push --sign` (or cosign) uploads beside the image.
Exit code 0 when one verifies for the manifest the registry serves now, 1 otherwise (unsigned, another
key, another digest or name).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship verify-image", description=__doc__)
    parser.add_argument("reference", metavar="REF", help="host[:port]/name:tag or host[:port]/name@sha256:<hex>")
    parser.add_argument(
        "--public-key",
        default=os.environ.get("LOCKSHIP_PUBLIC_KEY"),
        help="ed25519 public key file (from `lockship keygen`); default: $LOCKSHIP_PUBLIC_KEY (PEM text or a path)",
    )
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument(
        "--insecure", dest="tls_verify", action="store_false", default=None, help="plain HTTP / no TLS check"
    )
    tls.add_argument("--tls-verify", dest="tls_verify", action="store_true", help="check TLS even on loopback")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.public_key:
        raise LockshipError("--public-key: required (or set LOCKSHIP_PUBLIC_KEY)", exit_code=EXIT_USAGE)
    from lockship.core.model.signing import read_public_key
    from lockship.packaging.imagesign import Reference, verify_image
    from lockship.packaging.push import is_loopback, remote_manifest

    reference = Reference.parse(args.reference)
    key = read_public_key(args.public_key, where="--public-key")
    tls_verify = not is_loopback(str(reference)) if args.tls_verify is None else args.tls_verify
    manifest = remote_manifest(str(reference), tls_verify=tls_verify)
    verified = verify_image(str(reference), key, manifest=manifest, tls_verify=tls_verify)
    print(f"verified: {verified.reference} ({verified.digest}) signed by {verified.key} as {verified.identity}")
    return 0
