"""lockship uninstall: remove lockship from a repository's .pre-commit-config.yaml and undo `lockship install`.

Other entries and comments stay. When no other hooks remain, pre-commit's git hooks are removed too
(pre-commit puts back the hooks it had kept as `.legacy`) and a DVC hook that `lockship install`
replaced is restored.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from lockship.core.errors import entrypoint
from lockship.core.fsio import write_outputs
from lockship.core.git.hooks import HOOK_TYPES, REPLACED_SUFFIX, hooks_dir, precommit_command, repo_root, run_precommit
from lockship.core.git.precommit_config import CONFIG, remove_lockship, repo_url
from lockship.core.yamlio import read_text


def restore_git_hooks(root: Path, directory: Path) -> list[str]:
    said = []
    legacy = {hook_type for hook_type in HOOK_TYPES if (directory / f"{hook_type}.legacy").exists()}
    run_precommit(precommit_command(), "uninstall", root)
    for hook_type in HOOK_TYPES:
        hook = directory / hook_type
        name = os.path.relpath(hook, root)
        replaced = Path(f"{hook}{REPLACED_SUFFIX}")
        if replaced.exists() and not hook.exists():
            os.replace(replaced, hook)
            said.append(f"{name}: restored the hook that `lockship install` replaced")
        elif hook.exists():
            kept = (
                "put back the hook pre-commit had kept as .legacy" if hook_type in legacy else "kept (not pre-commit's)"
            )
            said.append(f"{name}: {kept}")
        else:
            said.append(f"{name}: removed pre-commit's hook")
    return said


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lockship uninstall", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=".", help="the git repository to remove lockship from (default: .)")
    parser.add_argument(
        "--repo-url",
        default=repo_url(),
        help="lockship's URL in the config (entries holding only lockship hook ids match too)",
    )
    return parser.parse_args(argv)


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = repo_root(args.repo)
    directory = hooks_dir(root)
    config = root / CONFIG
    if not config.exists():
        print(f"{CONFIG}: not found; lockship is not installed here")
        return 0
    text, removed, left = remove_lockship(read_text(config, name=CONFIG), url=args.repo_url, path=CONFIG)
    if not removed:
        print(f"{CONFIG}: no lockship entry; nothing to remove")
        return 0
    if text is None:
        config.unlink()
        print(f"{CONFIG}: removed (lockship had created it and nothing else was in it)")
    else:
        write_outputs({config: text})
        print(f"{CONFIG}: removed lockship's entry; {left} other repo entr{'y' if left == 1 else 'ies'} kept")
    if left:
        print(f"{os.path.relpath(directory, root)}: kept pre-commit's git hooks for your other hooks")
        for saved in sorted(directory.glob(f"*{REPLACED_SUFFIX}")):
            print(f"{os.path.relpath(saved, root)}: the hook lockship replaced is still saved here")
        return 0
    for line in restore_git_hooks(root, directory):
        print(line)
    return 0
