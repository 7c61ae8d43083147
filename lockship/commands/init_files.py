"""The files `lockship init` writes: the pipeline (dvc.yaml) and its settings (params.yaml), as text.

The stages are lockship's own (`python -m lockship.stages.<name>` from the installed package), so their
code is not among a stage's deps: upgrading lockship is a change `dvc repro --force` picks up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

PREPARED = ("data/prepared/train.csv", "data/prepared/test.csv")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML): names with spaces, colons, '#' stay whole."""
    return json.dumps(text, ensure_ascii=False)


def params_yaml(*, data: str, target: str, proposals: Mapping[str, str], test_size: float, seed: int) -> str:
    """params.yaml for the pipeline on `data`; `proposals` (column: reason) are dropped, each line saying why."""
    if proposals:
        width = max(len(_quoted(name)) for name in proposals)
        drops = "\n".join(f"      - {_quoted(name):<{width}}  # {reason}" for name, reason in sorted(proposals.items()))
        drop = (
            "    # Proposed by `lockship init` from the data (delete a line to keep that column as a feature):\n"
            f"    drop:\n{drops}\n"
        )
    else:
        drop = "    drop: []\n"
    return f"""\
# Written by `lockship init`; edit freely (`lockship init --force` would write it again).
prepare:
  source: {_quoted(data)}
  target: {_quoted(target)}
  test_size: {test_size}
  seed: {seed}
  # Which columns become features: keep (when not empty, only these) then drop, by name or glob pattern
  # (`*`, `?`, `[...]`); the target always stays. A pattern that matches no column is an error.
  columns:
    keep: []
{drop}\
  # Text columns of ISO 8601 dates: expand (into <name>_year, _month, _day, _weekday, and _hour for
  # date-times) or drop.
  dates: expand

validate:
  max_reported: 50

train:
  seed: {seed}
  # logistic_regression, random_forest or gradient_boosting; settings from the section of that name.
  estimator: logistic_regression
  logistic_regression:
    C: 1.0
    max_iter: 1000
  random_forest:
    n_estimators: 200
    max_depth: 8
  gradient_boosting:
    n_estimators: 150
    learning_rate: 0.1
    max_depth: 3

evaluate:
  profile_bins: 10

package:
  name: lockship-model
  base: mmdebstrap:bookworm
  runtime: [fastapi, uvicorn, httptools, uvloop, msgspec, orjson, prometheus-client, pyyaml, numpy, cryptography]
  pipeline_runtime: [pandas, scikit-learn, skops]
  port: 8000
  format: oci

lockship:
  # Pinned float arithmetic for every stage: the same data and params give the same model bytes.
  numerics:
    blas_kernel: Haswell
    simd_ceiling: X86_V3
    threads: 1
  params:  # check-params: declared types and ranges
    prepare.test_size: {{type: number, min: 0.05, max: 0.5}}
    train.estimator: {{type: string, choices: [logistic_regression, random_forest, gradient_boosting]}}
  gate_metrics:  # gate-metrics: what a push may not do to metrics.json
    missing_base: pass
    metrics:
      accuracy: {{max_drop: 0.02}}
"""


def dvc_yaml(*, data: str) -> str:
    """dvc.yaml: the reference pipeline's stages on `data`, with lockship's stage code from the installed package."""
    train, test = PREPARED
    return f"""\
# Written by `lockship init`: lockship's reference pipeline on {data}.
stages:
  prepare:
    cmd: python -m lockship.stages.prepare --params params.yaml --train {train} --test {test}
    deps:
      - {_quoted(data)}
    params:
      - prepare
    outs:
      - {train}
      - {test}

  validate:
    cmd: python -m lockship.stages.validate --params params.yaml --schema schema.yaml
      --report reports/validation.json {train} {test}
    deps:
      - schema.yaml
      - {train}
      - {test}
    params:
      - validate
    outs:
      - reports/validation.json

  train:
    cmd: python -m lockship.stages.train --params params.yaml
      --train {train} --model models/model.skops --metadata models/metadata.json
    deps:
      - {train}
      - reports/validation.json
    params:
      - prepare.target
      - train
      - lockship.numerics
    outs:
      - models/model.skops
      - models/metadata.json

  evaluate:
    cmd: python -m lockship.stages.evaluate --params params.yaml
      --model models/model.skops --metadata models/metadata.json --train {train} --test {test}
      --metrics metrics.json --plots plots --profile reports/profile.json
    deps:
      - models/model.skops
      - models/metadata.json
      - {train}
      - {test}
    params:
      - evaluate
      - lockship.numerics
    outs:
      - reports/profile.json
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/confusion.csv:
          cache: false
      - plots/roc.csv:
          cache: false
      - plots/precision_recall.csv:
          cache: false

  # The model directory `lockship serve models/serve` serves. `--builder none`: building the serving
  # image needs lockship's own repository (its serving code and requirements.lock), so here the
  # package stage writes the model directory only.
  package:
    cmd: python -m lockship.stages.package --params params.yaml --builder none
      --model models/model.skops --metadata models/metadata.json --schema schema.yaml
      --profile reports/profile.json --metrics metrics.json --example {test}
      --model-dir models/serve --image package/image.json --build package/build.json
    deps:
      - schema.yaml
      - models/model.skops
      - models/metadata.json
      - reports/profile.json
      - metrics.json
      - {test}
    params:
      - package
      - lockship.numerics
    outs:
      - models/serve
      - package/image.json:
          cache: false

plots:
  - plots/confusion.csv:
      title: Confusion matrix (test set)
      template: confusion
      x: predicted
      y: actual
  # One curve per class: .dvc/plots/per_class.json colours the lines by the files' `class` column.
  - ROC curve (test set):
      template: per_class
      x: fpr
      y:
        plots/roc.csv: tpr
  - Precision-recall curve (test set):
      template: per_class
      x: recall
      y:
        plots/precision_recall.csv: precision
"""


PACKAGE_GITIGNORE = "# This machine's build facts: not part of the lock.\n/build.json\n"

# The Vega-Lite template of lockship's own .dvc/plots/per_class.json (a test keeps the two the same).
PER_CLASS_TEMPLATE = """\
{
  "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
  "description": "lockship: one line per value of the data's `class` column (one-vs-rest curves), dashed by revision.",
  "data": {"values": "<DVC_METRIC_DATA>"},
  "title": {"text": "<DVC_METRIC_TITLE>", "anchor": "middle"},
  "width": 300,
  "height": 300,
  "mark": {"type": "line", "tooltip": {"content": "data"}},
  "encoding": {
    "x": {"field": "<DVC_METRIC_X>", "type": "quantitative", "title": "<DVC_METRIC_X_LABEL>"},
    "y": {"field": "<DVC_METRIC_Y>", "type": "quantitative", "title": "<DVC_METRIC_Y_LABEL>"},
    "color": {"field": "class", "type": "nominal", "title": "class"},
    "strokeDash": {"field": "rev", "type": "nominal", "title": "revision"}
  }
}
"""
