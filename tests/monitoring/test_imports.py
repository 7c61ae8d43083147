"""Monitoring reads the input log through its format module only: no web stack, no training stack."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fastapi", "starlette", "uvicorn", "pydantic", "prometheus_client", "sklearn", "skops", "pandas", "dvc")


def test_the_commands_import_neither_the_web_nor_the_training_stack() -> None:
    code = (
        "import json, sys, lockship.commands.drift, lockship.commands.logs_export, lockship.monitoring.export; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(json.loads(result.stdout)) & set(HEAVY) == set()
