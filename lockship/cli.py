"""The `lockship` command: dispatches each subcommand to its module's `main`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from lockship import __version__
from lockship.core.numerics import Numerics, pin

# Subcommand words -> module whose `main(argv)` runs them. Imported lazily so that each
# command pays only for what it uses.
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("schema", "infer"): ("lockship.commands.schema_infer", "write a starting schema from a data file"),
    ("check-lock",): ("lockship.hooks.check_lock", "fail when dvc.lock is stale for what is committed"),
    ("clean-lock",): ("lockship.commands.clean_lock", "remove dvc.lock entries of stages gone from dvc.yaml"),
    ("check-data",): ("lockship.hooks.check_data", "validate staged data files against the schema"),
    ("check-params",): ("lockship.hooks.check_params", "check params files parse and match dvc.yaml"),
    ("guard-data",): ("lockship.hooks.guard_data", "block data and model files committed to git, not DVC"),
    ("gate-metrics",): ("lockship.hooks.gate_metrics", "compare pushed metrics with the target branch's"),
    ("check-remote",): ("lockship.hooks.check_remote", "check the DVC remote holds every pushed output"),
    ("init",): ("lockship.commands.init", "set up DVC, the pipeline, schema and hooks for a data file"),
    ("install",): ("lockship.commands.install", "add lockship's hooks to a repository"),
    ("uninstall",): ("lockship.commands.uninstall", "remove lockship's hooks from a repository"),
    ("serve",): ("lockship.commands.serve", "serve a model directory over HTTP"),
    ("lock-hash",): ("lockship.commands.lock_hash", "print the hash of the locked pipeline"),
    ("base-lock",): ("lockship.commands.base_lock", "resolve the image base into package/base.lock"),
    ("push",): ("lockship.commands.push", "push the packaged image to a registry and verify it"),
    ("verify",): (
        "lockship.commands.verify",
        "re-run the committed pipeline in a scratch worktree, compare with dvc.lock",
    ),
    ("verify-image",): ("lockship.commands.verify_image", "check an image in a registry is signed by a key"),
    ("keygen",): ("lockship.commands.keygen", "make an ed25519 key pair for signing model directories"),
    ("drift",): ("lockship.commands.drift", "compare input logs or data files with the reference profile"),
    ("logs", "export"): ("lockship.commands.logs_export", "turn input-log directories into Parquet or CSV"),
}


def usage() -> str:
    lines = ["usage: lockship COMMAND [ARGS...]", "", "commands:"]
    width = max(len(" ".join(words)) for words in COMMANDS)
    for words, (_, summary) in sorted(COMMANDS.items()):
        lines.append(f"  {' '.join(words):<{width}}  {summary}")
    lines += ["", "Run `lockship COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"lockship {__version__}")
        return 0
    # Before any command loads numpy: the server answers a row with the same bits on any machine.
    pin(Numerics())
    for words, (module_name, _) in sorted(COMMANDS.items(), key=lambda item: -len(item[0])):
        if tuple(args[: len(words)]) == words:
            module = importlib.import_module(module_name)
            code: int = module.main(args[len(words) :])
            return code
    print(f"lockship: unknown command '{' '.join(args[:2])}'\n\n{usage()}", file=sys.stderr)
    return 2
