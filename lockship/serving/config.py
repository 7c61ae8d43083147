"""The serving app's settings, passed to worker processes through environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.model.signing import public_key_pem, read_public_key
from lockship.serving.inputlog import InputLogConfig

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_BODY_SECONDS = 10.0
DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024
DEFAULT_MODEL_NAME = "model"
DEFAULT_INPUT_LOG = "input-log"

ENV_MODEL_DIR = "LOCKSHIP_MODEL_DIR"
ENV_MODEL_NAME = "LOCKSHIP_MODEL_NAME"
ENV_MAX_BODY = "LOCKSHIP_MAX_BODY_BYTES"
ENV_BODY_SECONDS = "LOCKSHIP_BODY_TIMEOUT"
ENV_MAX_INFLIGHT = "LOCKSHIP_MAX_INFLIGHT_BYTES"
ENV_INPUT_LOG = "LOCKSHIP_INPUT_LOG"
ENV_INPUT_LOG_MAX = "LOCKSHIP_INPUT_LOG_MAX_BYTES"
ENV_INPUT_LOG_BACKUPS = "LOCKSHIP_INPUT_LOG_BACKUPS"
ENV_INPUT_LOG_QUEUE = "LOCKSHIP_INPUT_LOG_QUEUE_BYTES"
ENV_STARTUP_FAILURE = "LOCKSHIP_STARTUP_FAILURE"
ENV_PUBLIC_KEY = "LOCKSHIP_PUBLIC_KEY"


@dataclass(frozen=True)
class ServeConfig:
    model_dir: Path
    input_log: InputLogConfig
    model_name: str = DEFAULT_MODEL_NAME
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_seconds: float = DEFAULT_BODY_SECONDS
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    # PEM text of the ed25519 key the model directory must be signed with; None serves unsigned directories.
    public_key: str | None = None

    def to_env(self) -> dict[str, str]:
        signing = {} if self.public_key is None else {ENV_PUBLIC_KEY: self.public_key}
        return signing | {
            ENV_MODEL_DIR: str(self.model_dir),
            ENV_MODEL_NAME: self.model_name,
            ENV_MAX_BODY: str(self.max_body_bytes),
            ENV_BODY_SECONDS: repr(self.body_seconds),
            ENV_MAX_INFLIGHT: str(self.max_inflight_bytes),
            ENV_INPUT_LOG: str(self.input_log.directory),
            ENV_INPUT_LOG_MAX: str(self.input_log.max_bytes),
            ENV_INPUT_LOG_BACKUPS: str(self.input_log.backups),
            ENV_INPUT_LOG_QUEUE: str(self.input_log.queue_bytes),
        }


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise LockshipError(f"{name}: expected an integer, got {text!r}", exit_code=EXIT_USAGE) from None
    if value < minimum:
        raise LockshipError(f"{name}: must be at least {minimum}, got {value}", exit_code=EXIT_USAGE)
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise LockshipError(f"{name}: expected a number of seconds, got {text!r}", exit_code=EXIT_USAGE) from None
    if not 0 < value < float("inf"):
        raise LockshipError(f"{name}: must be a positive number of seconds, got {text!r}", exit_code=EXIT_USAGE)
    return value


def config_from_env(environ: Mapping[str, str] | None = None) -> ServeConfig:
    """The settings `lockship serve` exported (the container image can set the same variables)."""
    env = os.environ if environ is None else environ
    model_dir = env.get(ENV_MODEL_DIR)
    if not model_dir:
        raise LockshipError(f"{ENV_MODEL_DIR}: not set; it names the model directory to serve", exit_code=EXIT_USAGE)
    defaults = InputLogConfig(Path(DEFAULT_INPUT_LOG))
    key = env.get(ENV_PUBLIC_KEY)
    public_key = None if not key else public_key_pem(read_public_key(key, where=ENV_PUBLIC_KEY))
    return ServeConfig(
        model_dir=Path(model_dir),
        model_name=env.get(ENV_MODEL_NAME) or DEFAULT_MODEL_NAME,
        max_body_bytes=_integer(env, ENV_MAX_BODY, DEFAULT_MAX_BODY_BYTES, 1),
        body_seconds=_seconds(env, ENV_BODY_SECONDS, DEFAULT_BODY_SECONDS),
        max_inflight_bytes=_integer(env, ENV_MAX_INFLIGHT, DEFAULT_MAX_INFLIGHT_BYTES, 1),
        input_log=InputLogConfig(
            directory=Path(env.get(ENV_INPUT_LOG) or DEFAULT_INPUT_LOG),
            max_bytes=_integer(env, ENV_INPUT_LOG_MAX, defaults.max_bytes, 1024),
            backups=_integer(env, ENV_INPUT_LOG_BACKUPS, defaults.backups, 0),
            queue_bytes=_integer(env, ENV_INPUT_LOG_QUEUE, defaults.queue_bytes, 1),
        ),
        public_key=public_key,
    )
