"""`lockship push REGISTRY`: push the packaged image, then check the registry serves that exact image.

With `--sign KEY` (a `lockship keygen` private key), a sigstore-format signature of the pushed digest is
uploaded beside it; `lockship verify-image` (or cosign) checks it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import entrypoint


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship push", description=__doc__)
    parser.add_argument("registry", metavar="REGISTRY", help="host[:port][/path], e.g. ghcr.io/acme or 127.0.0.1:5000")
    parser.add_argument("--image", default="package/image.json", help="the package stage's image.json (%(default)s)")
    parser.add_argument(
        "--builder",
        default=os.environ.get("LOCKSHIP_BUILDER", "auto"),
        help="auto, buildah, podman or docker (default: $LOCKSHIP_BUILDER, else auto)",
    )
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument(
        "--insecure", dest="tls_verify", action="store_false", default=None, help="plain HTTP / no TLS check"
    )
    tls.add_argument("--tls-verify", dest="tls_verify", action="store_true", help="check TLS even on loopback")
    parser.add_argument("--sign", metavar="KEY", help="sign the pushed image with this ed25519 private key")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from lockship.core.model.signing import fingerprint, load_private_key
    from lockship.packaging.builders import detect
    from lockship.packaging.imagesign import sign_image
    from lockship.packaging.push import is_loopback, push

    key = None if args.sign is None else load_private_key(args.sign, where="--sign")
    pushed = push(Path(args.image), args.registry, builder=detect(args.builder), tls_verify=args.tls_verify)
    print(f"pushed {pushed.destination}@{pushed.digest}")
    print(f"verified: the registry serves image sha256:{pushed.image_id}")
    if key is not None:
        tls_verify = not is_loopback(pushed.destination) if args.tls_verify is None else args.tls_verify
        signature = sign_image(pushed.destination, pushed.digest, key, tls_verify=tls_verify)
        print(f"signed: {signature} by {fingerprint(key.public_key())}")
    return 0
