"""package: write the model directory, then build (or find) the serving image of that same directory, tagged by
the lock hash; record it in image.json and build.json.

The model directory (`--model-dir`, a DVC output) is what `lockship serve` serves on a laptop and what the
image holds. With no container builder on PATH (or `--builder none`) only the directory is written:
image.json still names the image the lock determines, and build.json says none was built.

With $LOCKSHIP_SIGNING_KEY (the path of a `lockship keygen` private key), the model directory in the
image is signed: package.json, which names every file's sha256, gets a detached package.json.sig.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import LockshipError, entrypoint
from lockship.core.fsio import canonical_json, write_outputs
from lockship.core.model.signing import fingerprint as key_fingerprint
from lockship.core.model.signing import load_private_key
from lockship.core.numerics import fingerprint, read_numerics
from lockship.core.params import load_section
from lockship.packaging.baselock import BASE_LOCK
from lockship.packaging.build import ModelFiles, Settings, package
from lockship.packaging.builders import Builder, detect

# The path of the ed25519 private key (`lockship keygen`) that signs the model directory in the image.
SIGNING_KEY_ENV = "LOCKSHIP_SIGNING_KEY"
# What an image name may be: lowercase (OCI requires it), path components separated by '/'.
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def read_example(path: str) -> int | None:
    """`package.example`: the data row (from 1) of the example file to smoke-test with; None picks by rule."""
    section = load_section(path, "package")
    row: int | None = section.optional("example", int, minimum=1)
    if section.problems:
        raise LockshipError(*section.problems)
    return row


def read_settings(path: str) -> Settings:
    section = load_section(path, "package")
    name = section.get("name", str)
    if section.problems == [] and not _NAME.match(name):
        section.problem("name", f"{name!r} is not a valid image name (lowercase letters, digits, '.', '_', '-', '/')")
    base = section.get("base", str)
    runtime = section.get("runtime", list)
    pipeline_runtime = section.get("pipeline_runtime", list, [])
    for key, names in (("runtime", runtime), ("pipeline_runtime", pipeline_runtime)):
        for index, item in enumerate(names or []):
            if not isinstance(item, str) or not item:
                section.problem(key, f"item {index}: expected a requirement name, got {item!r}")
    port = section.get("port", int, 8000, minimum=1, maximum=65535)
    image_format = section.get("format", str, "oci", choices=("oci", "docker"))
    section.optional("example", int, minimum=1)  # read by read_example
    section.check()
    return Settings(
        name=name,
        base=base,
        runtime=tuple(runtime),
        pipeline_runtime=tuple(pipeline_runtime),
        port=port,
        image_format=image_format,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship-package", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="params file with a 'package' section")
    parser.add_argument("--model", required=True, help="the model file (.skops)")
    parser.add_argument("--metadata", required=True, help="the model's metadata (JSON, from train)")
    parser.add_argument("--schema", required=True, help="the data schema the app validates inputs against")
    parser.add_argument("--profile", required=True, help="the reference profile (JSON, from evaluate)")
    parser.add_argument("--metrics", required=True, help="the model's metrics (JSON, from evaluate)")
    parser.add_argument(
        "--example", required=True, help="a data file holding the smoke-test input (row: package.example, else by rule)"
    )
    parser.add_argument("--model-dir", required=True, help="where to write the model directory the image holds")
    parser.add_argument("--image", required=True, help="where to write image.json (what the lock determines)")
    parser.add_argument("--build", required=True, help="where to write build.json (this machine's build facts)")
    parser.add_argument(
        "--builder",
        default=os.environ.get("LOCKSHIP_BUILDER", "auto"),
        help="auto, buildah, podman, docker or none (no image; default: $LOCKSHIP_BUILDER, else auto)",
    )
    parser.add_argument("--timestamp", type=int, help="image time in seconds since the epoch (default 2000-01-01)")
    parser.add_argument("--force", action="store_true", help="build even when the image already exists")
    parser.add_argument("--base-lock", default=BASE_LOCK, help=f"the base image's lock (default {BASE_LOCK})")
    return parser.parse_args(argv)


def choose_builder(choice: str) -> Builder | None:
    """The builder to use, or None for no image: `none`, or `auto` with no builder on PATH (said on stdout)."""
    if choice == "none":
        return None
    try:
        return detect(choice)
    except LockshipError as error:
        if choice != "auto":
            raise
        sys.stdout.write(f"package: {error.problems[0]}; writing the model directory only\n")
        return None


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = read_settings(args.params)
    # Packaging records the model's answer to the example row, which goes into the image.
    fingerprint(read_numerics(args.params))
    builder = choose_builder(args.builder)
    signing = os.environ.get(SIGNING_KEY_ENV)
    signing_key = load_private_key(signing, where=SIGNING_KEY_ENV) if signing else None
    files = ModelFiles(
        model=Path(args.model),
        metadata=Path(args.metadata),
        schema=Path(args.schema),
        profile=Path(args.profile),
        metrics=Path(args.metrics),
        example=Path(args.example),
        model_dir=Path(args.model_dir),
        example_row=read_example(args.params),
    )
    result = package(
        Path.cwd(),
        settings,
        files,
        builder=builder,
        timestamp=args.timestamp,
        force=args.force,
        base_lock=Path(args.base_lock),
        signing_key=signing_key,
    )
    write_outputs({args.image: canonical_json(result.image_json()), args.build: canonical_json(result.build_json())})
    if result.facts is None:
        sys.stdout.write(f"package: wrote {args.model_dir}; no image built (no container builder)\n")
        sys.stdout.write(f"  serve it: lockship serve {args.model_dir}\n")
        return 0
    verb = "built" if result.built else "found"
    signed = "" if signing_key is None else f", model signed by {key_fingerprint(signing_key.public_key())}"
    size = f"{result.facts.size / 1e6:.0f} MB"
    sys.stdout.write(f"package: {verb} {result.image} ({size}, {result.builder}, {result.seconds:.1f} s{signed})\n")
    sys.stdout.write(f"  run it: {result.builder if result.builder != 'buildah' else 'podman'} run --rm ")
    sys.stdout.write(f"--read-only -p 8000:8000 {result.image}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
