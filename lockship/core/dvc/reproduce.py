"""Which stages a forced re-run covers, and how its dvc.lock compares with the committed one.

Stages are linked by paths: a stage depends on another when one of its deps is, holds or lies inside
one of the other's outs. Frozen stages are never re-run: their outputs are inputs, like `.dvc` data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lockship.core.dvc.files import Stage
from lockship.core.dvc.lock import LockEntry

Locks = Mapping[str, Mapping[str, LockEntry]]  # dvc.yaml path -> stage name -> entry


@dataclass(frozen=True)
class Difference:
    """An output whose md5 after the re-run is not the committed one (None: not recorded)."""

    path: str
    stage: str  # the producing stage's address
    committed: str | None
    rerun: str | None

    def __str__(self) -> str:
        return f"{self.path}: md5 {_short(self.committed)} -> {_short(self.rerun)}"


@dataclass(frozen=True)
class Comparison:
    differences: list[Difference]
    problems: list[str]  # lock entries missing or stale at the commit
    outputs: int  # outputs compared


def _short(md5: str | None) -> str:
    return md5[:8] if md5 else "(none)"


def overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def feeds(producer: Stage, consumer: Stage) -> bool:
    """Whether `consumer` reads something `producer` writes."""
    return any(overlaps(dep.path, out.path) for dep in consumer.deps for out in producer.outs)


def find_stage(stages: Sequence[Stage], name: str) -> Stage | None:
    """The stage `name` designates, by address (`sub/dvc.yaml:x`) or, when unambiguous, by name."""
    exact = [stage for stage in stages if stage.address == name]
    named = [stage for stage in stages if stage.name == name]
    return exact[0] if exact else named[0] if len(named) == 1 else None


def rerun_stages(stages: Sequence[Stage], target: Stage | None) -> list[Stage]:
    """What `dvc repro --force [target]` runs: the target and its upstream, or every stage; never frozen ones."""
    if target is None:
        return [stage for stage in stages if not stage.frozen]
    chosen = {target.address}
    pending = [target]
    while pending:
        consumer = pending.pop()
        for producer in stages:
            if producer.address not in chosen and not producer.frozen and feeds(producer, consumer):
                chosen.add(producer.address)
                pending.append(producer)
    return [stage for stage in stages if stage.address in chosen and not stage.frozen]


def downstream(stages: Sequence[Stage], source: Stage) -> set[str]:
    """The addresses of `source` and of every stage reading its outputs, transitively."""
    reached = {source.address}
    pending = [source]
    while pending:
        producer = pending.pop()
        for consumer in stages:
            if consumer.address not in reached and feeds(producer, consumer):
                reached.add(consumer.address)
                pending.append(consumer)
    return reached


def _md5(entry: LockEntry | None, kind: str, path: str) -> str | None:
    if entry is None:
        return None
    recorded = (entry.outs if kind == "outs" else entry.deps).get(path, {}).get("md5")
    return str(recorded) if recorded is not None else None


def _stale(stage: Stage, committed: LockEntry, rerun: LockEntry, produced: Iterable[str]) -> list[str]:
    """What the re-run locked differently from the commit other than outputs and what stages produce."""
    produced = list(produced)
    changed = [
        dep.def_path
        for dep in stage.deps
        if not any(overlaps(dep.path, out) for out in produced)
        and _md5(committed, "deps", dep.def_path) != _md5(rerun, "deps", dep.def_path)
    ]
    if committed.params != rerun.params:
        changed.append("params")
    if committed.cmd != rerun.cmd:
        changed.append("cmd")
    return changed


def compare(stages: Sequence[Stage], rerun: Sequence[Stage], committed: Locks, after: Locks) -> Comparison:
    """Every output of the re-run stages against the committed dvc.lock files."""
    produced = [out.path for stage in stages for out in stage.outs]
    differences: list[Difference] = []
    problems: list[str] = []
    outputs = 0
    for stage in rerun:
        lockfile = stage.dvcfile.removesuffix("dvc.yaml") + "dvc.lock"
        before = committed.get(stage.dvcfile, {}).get(stage.name)
        now = after.get(stage.dvcfile, {}).get(stage.name)
        if before is None:
            problems.append(f"{lockfile}: stage '{stage.name}' is not locked: run `dvc repro` and commit dvc.lock")
            continue
        if now is not None and (changed := _stale(stage, before, now, produced)):
            problems.append(
                f"{lockfile}: stage '{stage.name}' was stale at this commit ({', '.join(changed)} changed): "
                "run `dvc repro` and commit dvc.lock"
            )
        for out in stage.outs:
            outputs += 1
            old, new = _md5(before, "outs", out.def_path), _md5(now, "outs", out.def_path)
            if old != new:
                differences.append(Difference(out.path, stage.address, old, new))
    return Comparison(differences, problems, outputs)


def explained(stages: Sequence[Stage], differences: Sequence[Difference], notes: Mapping[str, list[str]]) -> list[str]:
    """One line per difference, followed by the notes (fingerprint changes) of its stage and those upstream,
    in pipeline order."""
    reach = {stage.address: downstream(stages, stage) for stage in stages if stage.address in notes}
    lines = []
    for difference in differences:
        found = [note for address in notes if difference.stage in reach[address] for note in notes[address]]
        lines.append("; ".join([str(difference), *dict.fromkeys(found)]))
    return lines
