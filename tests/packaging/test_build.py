"""The package stage for real: the image built with buildah, run with podman (read-only), rebuilt, retagged."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from lockship.core.dvc.lockhash import lock_hash
from lockship.modelfile import load_model
from lockship.packaging.assemble import assemble_model_dir
from lockship.packaging.base import SOURCE_DATE_EPOCH, cache_dir
from lockship.packaging.baselock import BASE_LOCK
from lockship.packaging.debs import SOURCES_ENV
from tests.conftest import run
from tests.packaging.aptrepo import cached_debs, mirror
from tests.packaging.containers import Built, built_image, container_env, http, needs_container_tools, running

pytestmark = [needs_container_tools, pytest.mark.timeout(900)]
PACKAGE = ("python", "-m", "lockship.stages.package")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return built_image(tmp_path_factory)


def package_args(project: Path) -> list[str]:
    cmd = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]["package"]["cmd"]
    return cmd.split()[3:]


def inspect(built: Built) -> dict[str, object]:
    result = run("buildah", "inspect", "--type", "image", built.ref, cwd=built.project, env=built.env)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_image_json_holds_only_what_the_lock_determines(built: Built) -> None:
    image = json.loads((built.project / "package/image.json").read_text())
    assert sorted(image) == ["image", "lock_hash"]
    digest = lock_hash(built.project).digest
    assert image == {"image": f"lockship-model:{digest[:12]}", "lock_hash": digest}
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", str(built.build["image_id"]))
    assert built.build["builder"] == "buildah" and built.build["built"] is True
    # build.json is this machine's; git ignores it, and the pipeline is clean after the build.
    status = run("git", "status", "--porcelain", "--untracked-files=all", cwd=built.project, env=built.env).stdout
    assert "build.json" not in status
    assert "Data and pipelines are up to date" in run("dvc", "status", cwd=built.project, env=built.env).stdout


def test_labels_name_the_lock_and_metrics_and_nothing_the_lock_does_not_determine(built: Built) -> None:
    config = inspect(built)["OCIv1"]["config"]  # type: ignore[index]
    labels = config["Labels"]
    created = datetime.fromtimestamp(int(SOURCE_DATE_EPOCH), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert labels["org.opencontainers.image.created"] == created
    assert not {"org.opencontainers.image.revision", "org.opencontainers.image.source"} & set(labels)
    assert labels["dev.lockship.lock-hash"] == built.lock_hash
    found = json.loads((built.project / "metrics.json").read_text())
    metrics = {name: value for name, value in found.items() if isinstance(value, int | float)}
    assert json.loads(labels["dev.lockship.metrics"]) == metrics and "roc_auc" in metrics
    assert float(labels["dev.lockship.metric.accuracy"]) == metrics["accuracy"]
    assert config["User"] == "10001:10001"
    assert "PORT=8000" in config["Env"]
    assert config["Cmd"][:4] == ["python3", "-m", "lockship", "serve"]


def test_no_compilers_caches_or_secrets_in_any_layer(built: Built) -> None:
    script = (
        "import os, sys, shutil\n"
        "bad = [t for t in ('gcc', 'cc', 'g++', 'pip', 'pip3') if shutil.which(t)]\n"
        "for top in ('/root', '/opt', '/usr/local', '/tmp'):\n"
        "    for d, dirs, files in os.walk(top):\n"
        "        bad += [os.path.join(d, x) for x in dirs if x in ('.cache', '.git')]\n"
        "        bad += [os.path.join(d, f) for f in files if f in ('.netrc', '.pypirc', 'pip.conf', 'id_rsa')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck", built.ref]
    run(*command, "python3", "-c", script, cwd=built.project, env=built.env)


def test_the_image_serves_the_models_predictions_as_non_root(built: Built) -> None:
    import pandas as pd

    model = load_model(built.project / "models/model.skops")
    metadata = json.loads((built.project / "models/metadata.json").read_text())
    features = [feature["name"] for feature in metadata["features"]]
    frame = pd.read_csv(built.project / "data/prepared/test.csv")[features].iloc[:25]
    expected = model.predict_proba(frame)
    with running(built, name="lockship-test-serve") as port:
        base = f"http://127.0.0.1:{port}"
        assert http(f"{base}/v2/health/live")[0] == 200
        status, body = http(f"{base}/predict", {"records": frame.to_dict(orient="records")})
        assert status == 200, body
        answer = json.loads(body)
        assert answer["predictions"] == model.predict(frame).tolist()
        np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-9, atol=1e-12)
        matrix = frame.to_numpy()
        tensor = {"name": "input-0", "shape": list(matrix.shape), "datatype": "FP64", "data": matrix.tolist()}
        status, body = http(f"{base}/v2/models/model/infer", {"inputs": [tensor]})
        assert status == 200, body
        predict, proba = json.loads(body)["outputs"]
        assert predict["data"] == answer["predictions"]
        np.testing.assert_allclose(np.reshape(proba["data"], expected.shape), expected, rtol=1e-9, atol=1e-12)
        status, metrics = http(f"{base}/metrics")
        assert status == 200
        assert f'lock_hash="{built.lock_hash}"' in metrics.decode()
        status, body = http(f"{base}/metadata")
        assert json.loads(body)["lock_hash"] == built.lock_hash
        user = run("podman", "exec", "lockship-test-serve", "id", "-u", cwd=built.project, env=built.env)
        assert user.stdout.strip() == "10001"


def test_the_image_holds_the_workspace_model_directory(built: Built) -> None:
    """`lockship serve models/serve` on a laptop serves the very files the image serves."""
    workspace = built.project / "models/serve"
    names = sorted(path.name for path in workspace.iterdir())
    read = "import sys, hashlib, os; d = sys.argv[1]; print(*(n + ' ' + hashlib.sha256(open(os.path.join(d, n), 'rb')"
    read += ".read()).hexdigest() for n in sorted(os.listdir(d))), sep='\\n')"
    command = ["podman", "run", "--rm", "--network", "none", "--no-healthcheck", built.ref, "python3", "-c", read]
    inside = run(*command, "/opt/lockship/model", cwd=built.project, env=built.env).stdout.split()
    outside = [part for name in names for part in (name, hashlib.sha256((workspace / name).read_bytes()).hexdigest())]
    assert inside == outside and "package.json" in names


def test_a_tampered_model_refuses_to_start(built: Built, tmp_path: Path) -> None:
    tampered = tmp_path / "model.skops"
    shutil.copyfile(built.project / "models/model.skops", tampered)
    with open(tampered, "ab") as handle:
        handle.write(b"\0")
    tampered.chmod(0o644)
    command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck"]
    command += ["-v", f"{tampered}:/opt/lockship/model/model.skops:ro", built.ref]
    result = run(*command, cwd=built.project, env=built.env, check=False)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "does not match" in output and "refusing to start" in output
    assert "Traceback" not in output


def test_an_existing_image_is_found_not_rebuilt(built: Built) -> None:
    result = run(*PACKAGE, *package_args(built.project), cwd=built.project, env=built.env)
    assert result.stdout.startswith(f"package: found {built.image}")
    again = json.loads((built.project / "package/build.json").read_text())
    assert again["built"] is False and again["image_id"] == built.build["image_id"]


def fresh_base_cache(root: Path) -> dict[str, str]:
    """A lockship cache with no base rootfs but this machine's .debs and wheel layers (the base is rebuilt)."""
    user = cache_dir()
    (root / "base").mkdir(parents=True)
    for kind in ("site", "bytecode", "host-pycache", "base/debs"):
        (user / kind).mkdir(parents=True, exist_ok=True)
        (root / kind).symlink_to(user / kind)
    return {"LOCKSHIP_CACHE_DIR": str(root)}


def test_building_again_in_a_fresh_store_gives_the_same_image_id(built: Built, tmp_path: Path) -> None:
    # A fresh container store, and the base rootfs made again from the locked .debs.
    env = {**built.env, **container_env(tmp_path / "containers"), **fresh_base_cache(tmp_path / "cache")}
    result = run(*PACKAGE, *package_args(built.project), cwd=built.project, env=env)
    assert result.stdout.startswith(f"package: built {built.image}")
    again = json.loads((built.project / "package/build.json").read_text())
    assert (again["image_id"], again["manifest_digest"]) == (built.build["image_id"], built.build["manifest_digest"])
    assert again["base_digest"] == built.build["base_digest"]
    assert [path.name for path in (tmp_path / "cache/base/sha256").iterdir()] == [built.build["base_digest"]]
    forced = run(*PACKAGE, *package_args(built.project), "--force", cwd=built.project, env=built.env)
    assert forced.stdout.startswith(f"package: built {built.image}")
    assert json.loads((built.project / "package/build.json").read_text())["image_id"] == built.build["image_id"]


def test_a_commit_that_leaves_the_lock_unchanged_gives_the_same_image(built: Built, tmp_path: Path) -> None:
    project = shutil.copytree(built.project, tmp_path / "later", symlinks=True)
    (project / "README.md").write_text((project / "README.md").read_text() + "\nAn edit the lock does not cover.\n")
    # A day after the first commit, so neither its time nor its revision can match by chance.
    day_later = f"@{int(run('git', 'log', '-1', '--format=%ct', cwd=project, env=built.env).stdout) + 86400}"
    later = {**built.env, "GIT_AUTHOR_DATE": day_later, "GIT_COMMITTER_DATE": day_later}
    run("git", "commit", "-qm", "edit the README", "README.md", cwd=project, env=later)
    assert run("python", "-m", "lockship", "lock-hash", cwd=project, env=built.env).stdout.strip() == built.lock_hash
    # A fresh container store: the image is built again, not found.
    env = {**built.env, **container_env(tmp_path / "containers")}
    result = run(*PACKAGE, *package_args(project), cwd=project, env=env)
    assert result.stdout.startswith(f"package: built {built.image}")
    again = json.loads((project / "package/build.json").read_text())
    assert (again["image_id"], again["manifest_digest"]) == (built.build["image_id"], built.build["manifest_digest"])
    # The commit is a fact of this build, kept out of the image.
    assert again["revision"] == run("git", "rev-parse", "HEAD", cwd=project, env=built.env).stdout.strip()


def test_editing_the_base_lock_changes_the_tag(built: Built, tmp_path: Path) -> None:
    project = tmp_path / "edited"
    shutil.copytree(built.project, project, symlinks=True)
    path = project / BASE_LOCK
    lock = json.loads(path.read_text())
    lock["packages"][0]["version"] += "+1"
    path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    changed = run("python", "-m", "lockship", "lock-hash", cwd=project, env=built.env).stdout.strip()
    assert changed != built.lock_hash and len(changed) == 64
    path.unlink()
    result = run(*PACKAGE, *package_args(project), cwd=project, env=built.env, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"{BASE_LOCK}: no base lock; run `lockship base-lock` to resolve the base and commit it\n"


def test_a_pinned_package_the_mirror_no_longer_serves_stops_the_build_in_one_line(built: Built, tmp_path: Path) -> None:
    debs = cached_debs()
    gone = next(deb for deb in debs if deb.name == "libc6")
    sources = mirror(tmp_path / "mirror", {deb: path for deb, path in debs.items() if deb != gone})
    cache = tmp_path / "cache"
    env = {**built.env, SOURCES_ENV: str(sources), "LOCKSHIP_CACHE_DIR": str(cache)}
    result = run(*PACKAGE, *package_args(built.project), "--force", cwd=built.project, env=env, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"{BASE_LOCK}: libc6 {gone.version} is no longer served by the apt mirror; "
        "run `lockship base-lock` to re-resolve the base (this changes the image tag)\n"
    )
    # Nothing half-made: no .deb, no rootfs and no pointer in the cache.
    assert [path for path in cache.rglob("*") if not path.is_dir()] == []


def test_changing_one_param_changes_the_tag(built: Built, tmp_path: Path) -> None:
    project = tmp_path / "changed"
    shutil.copytree(built.project, project, symlinks=True)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("    C: 1.0\n", "    C: 0.5\n"))
    run("dvc", "repro", "evaluate", cwd=project, env=built.env)
    changed = run("python", "-m", "lockship", "lock-hash", cwd=project, env=built.env).stdout.strip()
    assert changed != built.lock_hash and len(changed) == 64


def test_the_linear_model_is_served_without_scikit_learn_in_the_image(built: Built) -> None:
    script = "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('sklearn', 'scipy', 'pandas')))"
    command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck", built.ref]
    run(*command, "python3", "-c", script, cwd=built.project, env=built.env)


def test_a_forest_is_served_on_its_tree_path_without_scikit_learn(built: Built, tmp_path: Path) -> None:
    import pandas as pd

    project = tmp_path / "forest"
    shutil.copytree(built.project, project, symlinks=True)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"] |= {"estimator": "random_forest", "random_forest": {"n_estimators": 10, "max_depth": 4}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run("dvc", "repro", cwd=project, env=built.env)
    info = json.loads((project / "package/image.json").read_text())
    forest = Built(project, built.env, info["image"], info["lock_hash"], {})
    assert forest.image != built.image
    model = load_model(project / "models/model.skops")
    features = [feature["name"] for feature in json.loads((project / "models/metadata.json").read_text())["features"]]
    frame = pd.read_csv(project / "data/prepared/test.csv")[features].iloc[:20]
    try:
        with running(forest, name="lockship-test-forest") as port:
            status, body = http(f"http://127.0.0.1:{port}/predict", {"records": frame.to_dict(orient="records")})
            assert status == 200, body
            np.testing.assert_allclose(json.loads(body)["probabilities"], model.predict_proba(frame), rtol=1e-9)
            path = json.loads(http(f"http://127.0.0.1:{port}/metadata")[1])["prediction_path"]
            assert path == "tree fast path"
        script = (
            "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('sklearn', 'scipy', 'pandas')))"
        )
        command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck", forest.ref]
        run(*command, "python3", "-c", script, cwd=project, env=forest.env)
    finally:
        run("podman", "rmi", "-f", forest.ref, cwd=project, env=built.env, check=False)
    # Without its trees.json the forest is served through its pipeline, which an image without scikit-learn
    # refuses in one line.
    model_dir = tmp_path / "forest-model"
    assemble_model_dir(model_dir, model_path=project / "models/model.skops",
                       metadata_path=project / "models/metadata.json", schema_path=project / "schema.yaml",
                       profile_path=project / "reports/profile.json", lock_hash="ab" * 32,
                       params={}, metrics={}, example=frame.iloc[0].to_dict())  # fmt: skip
    (model_dir / "trees.json").unlink()
    package = json.loads((model_dir / "package.json").read_text())
    del package["trees_sha256"]
    (model_dir / "package.json").write_text(json.dumps(package))
    command = ["podman", "run", "--rm", "--read-only", "--network", "none", "--no-healthcheck"]
    command += ["-v", f"{model_dir}:/opt/lockship/model:ro", built.ref]
    result = run(*command, cwd=project, env=built.env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "through its pipeline needs the module 'skops', which is not installed here" in output
    assert "refusing to start" in output and "Traceback" not in output
