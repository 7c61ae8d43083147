"""`lockship lock-hash`: print the hash of the locked pipeline behind the package stage (the image tag)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lockship.core.dvc.lockhash import lock_hash
from lockship.core.errors import entrypoint


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship lock-hash", description=__doc__)
    parser.add_argument("--repo", default=".", help="the DVC project's root (default: the current directory)")
    parser.add_argument("--stage", default="package", help="the stage whose locked inputs are hashed")
    parser.add_argument("--short", action="store_true", help="print only the image tag (the first 12 hex digits)")
    parser.add_argument("--verbose", action="store_true", help="also list the upstream stages it covers")
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = lock_hash(args.repo, stage=args.stage)
    print(result.tag if args.short else result.digest)
    if args.verbose:
        print(f"stages: {', '.join(result.upstream) or '(none)'}")
    return 0
