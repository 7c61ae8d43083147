"""lockship serve: serve a model directory over HTTP (FastAPI on uvicorn).

Every file's sha256 is checked against package.json before anything else starts, and with a public key
(--public-key, $LOCKSHIP_PUBLIC_KEY) package.json's signature too; a tampered, swapped or unsigned model
ends the command with exit code 1 and one line saying which file and why.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockship.core.errors import EXIT_USAGE, LockshipError, entrypoint

if TYPE_CHECKING:
    from lockship.serving.config import ServeConfig

DEFAULT_PORT = 8000
ENV_HOST = "LOCKSHIP_HOST"
# Where the workers' shared metrics live: on the input-log volume, the one place a read-only container
# is known to be able to write (a `--read-only` root may have no writable /tmp).
SCRATCH_PREFIX = ".serve-"


def default_host(environ: Mapping[str, str]) -> str:
    """$LOCKSHIP_HOST, else loopback. Not guessed from container markers: a developer's container
    (`/.dockerenv`) often shares the host's network, and the image's command says `--host 0.0.0.0` itself."""
    return environ.get(ENV_HOST) or "127.0.0.1"


def default_port(environ: Mapping[str, str]) -> int:
    text = environ.get("PORT", "")
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise LockshipError(f"PORT: expected a port number 1-65535, got {text!r}", exit_code=EXIT_USAGE)
    return int(text)


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not every platform has CPU affinity
        return max(1, os.cpu_count() or 1)


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    """Flags; each setting's default comes from its LOCKSHIP_* variable (for container images), else a constant."""
    from lockship.serving.config import config_from_env

    defaults = config_from_env({"LOCKSHIP_MODEL_DIR": ".", **environ})
    parser = argparse.ArgumentParser(prog="lockship serve", description=__doc__)
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a model directory written by the package stage")
    parser.add_argument("--host", help=f"interface to bind (default: ${ENV_HOST}, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"port (default: $PORT, else {DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per available core)")
    log = defaults.input_log
    add = parser.add_argument
    add("--model-name", default=defaults.model_name, help="the v2 model name; $LOCKSHIP_MODEL_NAME (%(default)s)")
    add("--max-body-bytes", type=int, default=defaults.max_body_bytes,
        help="larger bodies get 413; $LOCKSHIP_MAX_BODY_BYTES (%(default)s)")  # fmt: skip
    add("--body-timeout", type=float, default=defaults.body_seconds,
        help="seconds a request's body may take to arrive, else 408; $LOCKSHIP_BODY_TIMEOUT (%(default)s)")  # fmt: skip
    add("--max-inflight-bytes", type=int, default=defaults.max_inflight_bytes,
        help="body bytes one worker holds at once, else 503; $LOCKSHIP_MAX_INFLIGHT_BYTES (%(default)s)")  # fmt: skip
    add("--input-log", default=str(log.directory), help="input log directory; $LOCKSHIP_INPUT_LOG (%(default)s)")
    add("--input-log-max-bytes", type=int, default=log.max_bytes,
        help="size of one input log file; $LOCKSHIP_INPUT_LOG_MAX_BYTES (%(default)s)")  # fmt: skip
    add("--input-log-backups", type=int, default=log.backups,
        help="rotated input log files kept; $LOCKSHIP_INPUT_LOG_BACKUPS (%(default)s)")  # fmt: skip
    add("--input-log-queue-bytes", type=int, default=log.queue_bytes,
        help="inputs waiting for the log, beyond which they are dropped and counted; "
             "$LOCKSHIP_INPUT_LOG_QUEUE_BYTES (%(default)s)")  # fmt: skip
    add("--public-key", metavar="FILE", default=defaults.public_key,
        help="ed25519 public key (from `lockship keygen`) the model directory must be signed with; "
        "$LOCKSHIP_PUBLIC_KEY (the key's PEM text or a file path); default: unsigned directories serve")  # fmt: skip
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser.parse_args(argv)


def log_config() -> dict[str, object]:
    """uvicorn's logging, plus lockship's own start-up lines through the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["lockship"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@entrypoint
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv, os.environ)
    port = args.port if args.port is not None else default_port(os.environ)
    workers = args.workers if args.workers is not None else default_workers()
    checks = {
        "--port": 1 <= port <= 65535,
        "--workers": workers >= 1,
        "--max-body-bytes": args.max_body_bytes >= 1,
        "--body-timeout": 0 < args.body_timeout < float("inf"),
        "--max-inflight-bytes": args.max_inflight_bytes >= 1,
        "--input-log-queue-bytes": args.input_log_queue_bytes >= 1,
        "--input-log-max-bytes": args.input_log_max_bytes >= 1024,
        "--input-log-backups": args.input_log_backups >= 0,
    }
    bad = [f"{flag}: out of range" for flag, ok in checks.items() if not ok]
    if bad:
        raise LockshipError(*bad, exit_code=EXIT_USAGE)
    from lockship.core.model.signing import public_key_pem, read_public_key, read_verified_model_dir
    from lockship.modelfile import read_model_file
    from lockship.serving.config import ServeConfig
    from lockship.serving.inputlog import InputLogConfig

    key = read_public_key(args.public_key, where="--public-key") if args.public_key else None
    config = ServeConfig(
        model_dir=Path(args.model_dir),
        model_name=args.model_name,
        max_body_bytes=args.max_body_bytes,
        body_seconds=args.body_timeout,
        max_inflight_bytes=args.max_inflight_bytes,
        input_log=InputLogConfig(
            Path(args.input_log),
            args.input_log_max_bytes,
            args.input_log_backups,
            queue_bytes=args.input_log_queue_bytes,
        ),
        public_key=public_key_pem(key) if key is not None else None,
    )
    try:
        # Hashes and signature, before any worker is started.
        model_dir, _ = read_verified_model_dir(config.model_dir, key)
        if not model_dir.derived_files:  # a zip bomb or a broken archive: refused once, not once a worker
            read_model_file(model_dir.model_path)
    except LockshipError as error:
        raise LockshipError(*error.problems, "lockship serve: refusing to start") from error
    host = args.host or default_host(os.environ)
    return serve(config, host=host, port=port, workers=workers, log_level=args.log_level)


def scratch_dir(input_log: Path) -> Path:
    """A fresh directory for one run's multiprocess metrics, beside the input log (never in $TMPDIR)."""
    try:
        input_log.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=input_log))
    except OSError as error:
        raise LockshipError(
            f"{input_log}: cannot write the input log: {error.strerror}; point --input-log "
            "($LOCKSHIP_INPUT_LOG) at a writable volume",
            "lockship serve: refusing to start",
        ) from error


def serve(config: ServeConfig, *, host: str, port: int, workers: int, log_level: str) -> int:
    """Run uvicorn until it is stopped: the app itself with one worker, an app factory per worker otherwise."""
    import logging.config

    import uvicorn

    logging.config.dictConfig(log_config())  # before the app is built, so its start-up lines show
    options: dict[str, object] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": log_level,
        "log_config": log_config(),
        "server_header": False,
    }
    if workers == 1:
        from lockship.serving.app import create_app

        try:
            app = create_app(config)
        except LockshipError as error:
            raise LockshipError(*error.problems, "lockship serve: refusing to start") from error
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return 0
    # Workers are fresh processes: they read their settings from the environment, and prometheus-client
    # must see its multiprocess directory before it is first imported in them.
    from lockship.serving.config import ENV_STARTUP_FAILURE

    scratch = scratch_dir(config.input_log.directory)
    (scratch / "metrics").mkdir()
    failure = scratch / "startup-failure"
    os.environ.update(config.to_env())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(scratch / "metrics")
    os.environ[ENV_STARTUP_FAILURE] = str(failure)
    try:
        uvicorn.run("lockship.serving.app:create_app_from_env", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        if failure.exists():
            raise LockshipError(*failure.read_text(encoding="utf-8").splitlines(), "lockship serve: refusing to start")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0
