"""`lockship keygen`: a new ed25519 key pair for signing model directories (and the images that carry them).

Writes DIR/lockship.key (the private key, mode 0600: give it to packaging as $LOCKSHIP_SIGNING_KEY,
never commit it) and DIR/lockship.pub (the public key: give it to `lockship serve --public-key`),
and prints the public key. Existing key files are never replaced.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import entrypoint


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship keygen", description=__doc__)
    parser.add_argument("--out", default=".", help="directory for lockship.key and lockship.pub (default: .)")
    return parser.parse_args(argv)


def keygen(out: Path) -> str:
    """Write the pair under `out`; return what to print."""
    from lockship.core.model.signing import fingerprint, public_key_pem, write_key_pair

    private, public, key = write_key_pair(out)
    return (
        f"private key: {private} (mode 0600; packaging signs with it: LOCKSHIP_SIGNING_KEY={private})\n"
        f"public key:  {public} ({fingerprint(key)}; lockship serve --public-key {public})\n"
        f"{public_key_pem(key)}"
    )


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(keygen(Path(args.out)), end="")
    return 0
