"""Settings passed to worker processes through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.serving.config import ServeConfig, config_from_env
from lockship.serving.inputlog import InputLogConfig


def test_settings_survive_the_trip_through_the_environment() -> None:
    log = InputLogConfig(Path("/log"), max_bytes=4096, backups=1, queue_bytes=5000)
    config = ServeConfig(Path("/m"), log, "cancer", 1000, body_seconds=2.5, max_inflight_bytes=3000)
    assert config_from_env(config.to_env()) == config


def test_defaults() -> None:
    config = config_from_env({"LOCKSHIP_MODEL_DIR": "/m"})
    assert (config.model_name, config.max_body_bytes, config.input_log.directory) == (
        "model",
        8388608,
        Path("input-log"),
    )
    assert (config.body_seconds, config.max_inflight_bytes, config.input_log.queue_bytes) == (10.0, 64 << 20, 32 << 20)


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "LOCKSHIP_MODEL_DIR: not set"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_MAX_BODY_BYTES": "lots"}, "expected an integer, got 'lots'"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_INPUT_LOG_MAX_BYTES": "10"}, "must be at least 1024, got 10"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_BODY_TIMEOUT": "soon"}, "expected a number of seconds, got 'soon'"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_BODY_TIMEOUT": "nan"}, "must be a positive number of seconds"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_BODY_TIMEOUT": "0"}, "must be a positive number of seconds")],
)  # fmt: skip
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(LockshipError, match=message) as error:
        config_from_env(env)
    assert error.value.exit_code == 2
