"""Has serving become slower since REV? This checkout and REV side by side, against the bare app, in one run.

    python bench/serve_since.py REV [--rounds 7] [--seconds 3]

`serve.py` compares lockship with a bare FastAPI app; its ratios still move by more than 10% from one
run to the next on a shared 2-core machine. This script settles "within 10% of then" by measuring then
and now in the same run: REV is checked out in a scratch worktree, each tree builds its model directory
with its own code (its `bench/serve.py`'s `build_model_dir`), and three servers run at once (the bare
app, REV's `lockship serve`, this checkout's). Every round loads each of them in turn, in a rotating
order, so slow drift of the machine reaches all three alike; a figure's ratio to the bare app is taken
within its round and the median over rounds is reported, with the change from REV to now.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import (
    BARE_APP,
    BATCH_ROWS,
    CLIENT_CORE,
    REPO,
    SERVER_CORE,
    Kind,
    Load,
    running,
    wrk,
)

BUILD = (
    "import json, sys; from pathlib import Path; sys.path.insert(0, 'bench'); import serve; "
    "model_dir, records = serve.build_model_dir(Path(sys.argv[1])); print(json.dumps(records))"
)
# name, the load that gives it, what is read from that load (in the unit shown), whether bigger is better
FIGURES: list[tuple[str, str, Callable[[Load], float], str, bool]] = [
    ("p50 latency, 1 row, c=1 (1 worker)", "c1", lambda load: load.p50 * 1e3, "ms", False),
    ("p99 latency, 1 row, c=1 (1 worker)", "c1", lambda load: load.p99 * 1e3, "ms", False),
    ("throughput, c=1 (1 worker)", "c1", lambda load: load.rate, "req/s", True),
    ("throughput, c=32 (2 workers)", "c32", lambda load: load.rate, "req/s", True),
    ("p50 latency, 1000-row batch (1 worker)", "batch", lambda load: load.p50 * 1e3, "ms", False),
    # The server's own CPU time per request: the figure other jobs on the machine move least.
    ("server CPU per request, 1 row, c=1", "c1", lambda load: load.cpu * 1e6, "us", False),
    ("server CPU per request, 1000-row batch", "batch", lambda load: load.cpu * 1e6, "us", False),
]


def build(tree: Path, work: Path) -> tuple[Path, list[dict[str, float]]]:
    """`tree`'s model directory, built by `tree`'s own code in a process of its own."""
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", BUILD, str(work)], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: building the model directory failed:\n{done.stderr}")
    return work / "model-dir", json.loads(done.stdout.splitlines()[-1])


def lockship(name: str, tree: Path, model_dir: Path, log: Path) -> Kind:
    def command(port: int, workers: int) -> list[str]:
        code = f"import sys; sys.path.insert(0, {str(tree)!r}); from lockship.cli import main; sys.exit(main())"
        return [sys.executable, "-c", code, "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--input-log", str(log / str(port)), "--log-level", "warning"]  # fmt: skip

    return Kind(name, command)


def bare(work: Path) -> Kind:
    (work / "bare_app.py").write_text(BARE_APP)
    options = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]

    def command(port: int, workers: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "bare_app:create", "--factory", "--app-dir", str(work),
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *options]  # fmt: skip

    return Kind("bare FastAPI", command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", metavar="REV", help="the git revision to compare with, e.g. a commit of a recorded run")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of loading all three (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=3, help="length of each load run (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lockship-bench-since-") as temporary, ExitStack() as stack:
        work = Path(temporary)
        then = work / "then"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(then), args.rev], check=True)
        stack.callback(subprocess.run, ["git", "-C", str(REPO), "worktree", "remove", "--force", str(then)])
        then_dir, records = build(then, work / "model-then")
        now_dir, _ = build(REPO, work / "model-now")
        single, batch = work / "single.json", work / "batch.json"
        single.write_text(json.dumps({"records": records[:1]}))
        batch.write_text(json.dumps({"records": (records * (BATCH_ROWS // len(records) + 1))[:BATCH_ROWS]}))
        log = work / "log"
        kinds = [bare(work), lockship(args.rev, then, then_dir, log), lockship("now", REPO, now_dir, log)]
        servers = {
            kind.name: (stack.enter_context(running(kind, 1, SERVER_CORE)), stack.enter_context(running(kind, 2)))
            for kind in kinds
        }
        loads: dict[str, dict[str, list[Load]]] = {kind.name: {"c1": [], "c32": [], "batch": []} for kind in kinds}
        for round_ in range(args.rounds):
            for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:
                (port, _, _, pid), (port_two, *_) = servers[kind.name]
                taken = loads[kind.name]
                taken["c1"].append(wrk(port, single, 1, args.seconds, CLIENT_CORE, pid))
                taken["batch"].append(wrk(port, batch, 1, args.seconds, CLIENT_CORE, pid))
                taken["c32"].append(wrk(port_two, single, 32, args.seconds))
            sys.stderr.write(f"round {round_ + 1} of {args.rounds} done\n")
        report(loads, [kind.name for kind in kinds], args)
    return 0


def report(loads: dict[str, dict[str, list[Load]]], names: list[str], args: argparse.Namespace) -> None:
    base, then, now = names
    say = print
    say(f"{args.rounds} rounds, {args.seconds} s per load run; single-worker servers pinned to core "
        f"{min(SERVER_CORE or {0})}, wrk to core {min(CLIENT_CORE or {0})}; medians over rounds")  # fmt: skip
    say("ratio: lockship / bare app within each round (for throughput, bigger is better; else smaller)\n")
    say(f"{'':<40} {'bare':>10} {then[:10]:>10} {'now':>10} {'ratio then':>11} {'ratio now':>10} {'change':>8}")
    for label, load, read, unit, bigger in FIGURES:
        values = {name: [read(taken) for taken in loads[name][load]] for name in names}
        ratios = {name: [a / b for a, b in zip(values[name], values[base], strict=True)] for name in (then, now)}
        r_then, r_now = statistics.median(ratios[then]), statistics.median(ratios[now])
        medians = [statistics.median(values[name]) for name in names]
        worse = (r_then / r_now - 1) if bigger else (r_now / r_then - 1)
        say(f"{label:<40} {medians[0]:>10.2f} {medians[1]:>10.2f} {medians[2]:>10.2f} "
            f"{r_then:>11.3f} {r_now:>10.3f} {worse:>+7.1%}  {unit}")  # fmt: skip
    errors = sum(load.errors for name in names for taken in loads[name].values() for load in taken)
    say(f"\nchange: how much worse now is than {then} relative to the bare app (negative: better)")
    say(f"failed requests (non-2xx or socket errors) in all runs: {errors}")


if __name__ == "__main__":
    raise SystemExit(main())
