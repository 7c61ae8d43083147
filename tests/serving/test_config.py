"""Settings passed to worker processes through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.errors import LockshipError
from lockship.serving.config import ServeConfig, config_from_env
from lockship.serving.inputlog import InputLogConfig


def test_settings_survive_the_trip_through_the_environment() -> None:
    config = ServeConfig(Path("/m"), InputLogConfig(Path("/log"), max_bytes=4096, backups=1), "cancer", 1000)
    assert config_from_env(config.to_env()) == config


def test_defaults() -> None:
    config = config_from_env({"LOCKSHIP_MODEL_DIR": "/m"})
    assert (config.model_name, config.max_body_bytes, config.input_log.directory) == (
        "model",
        8388608,
        Path("input-log"),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [({}, "LOCKSHIP_MODEL_DIR: not set"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_MAX_BODY_BYTES": "lots"}, "expected an integer, got 'lots'"),
     ({"LOCKSHIP_MODEL_DIR": "/m", "LOCKSHIP_INPUT_LOG_MAX_BYTES": "10"}, "must be at least 1024, got 10")],
)  # fmt: skip
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(LockshipError, match=message) as error:
        config_from_env(env)
    assert error.value.exit_code == 2
