"""dvc.yaml and params files read as DVC reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockship.core.dvc.files import generated, load_stages, parse_params, read_params, read_yaml
from lockship.core.errors import LockshipError
from lockship.core.yamlio import Loader
from tests.conftest import write_files as write


def test_yaml_is_read_with_yaml_1_2_scalars(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("a: 1e-3\nb: on\nc: 0777\nd: 0o17\ne: yes\nf: .inf\ng: true\nh: 1_000\ni: 0x1f\n")
    data = read_yaml(str(tmp_path), "p.yaml").data
    assert data == {
        "a": 0.001,
        "b": "on",
        "c": 777,
        "d": 15,
        "e": "yes",
        "f": float("inf"),
        "g": True,
        "h": 1000,
        "i": 31,
    }


def test_generated_stage_names() -> None:
    assert [n for n, _ in generated("s", {"foreach": {"a": 1, "b": 2}}, {})] == ["s@a", "s@b"]
    assert [n for n, _ in generated("s", {"foreach": [True, 1.5, "x"]}, {})] == ["s@true", "s@1.5", "s@x"]
    assert [n for n, _ in generated("s", {"foreach": [[1], {"k": 2}]}, {})] == ["s@0", "s@1"]
    matrix = {"matrix": {"m": ["a", "b"], "cfg": [{"x": 1}, [2]]}}
    assert [n for n, _ in generated("s", matrix, {})] == ["s@a-cfg0", "s@a-cfg1", "s@b-cfg0", "s@b-cfg1"]
    assert [n for n, _ in generated("s", {"foreach": "${items}"}, {"items": ["p", "q"]})] == ["s@p", "s@q"]


def test_stage_paths_params_and_wdir(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "sub/dvc.yaml": (
                'vars: [{d: data}]\nstages:\n  s:\n    wdir: ..\n    cmd: run\n    deps: ["${d}/in.csv"]\n'
                "    params: [a.b, {other.yaml: [x]}, {whole.yaml: }]\n    outs: [{out.bin: {cache: false}}]\n"
            ),
            "sub/params.yaml": "d2: 1\n",
        },
    )
    (stage,) = load_stages(str(tmp_path), "sub/dvc.yaml")
    assert stage.address == "sub/dvc.yaml:s" and stage.wdir == "."
    assert [(d.path, d.def_path) for d in stage.deps] == [("data/in.csv", "data/in.csv")]
    assert [(p.path, p.keys) for p in stage.params] == [
        ("params.yaml", ("a.b",)),
        ("other.yaml", ("x",)),
        ("whole.yaml", ()),
    ]
    assert [(o.path, o.cache) for o in stage.outs] == [("out.bin", False)]


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("p.json", '{"a": 1,}\n', "p.json:1:9: invalid JSON: Expecting property name"),
        ("p.toml", "a = \n", "p.toml:1:5: invalid TOML: "),
        ("p.yaml", "a: [1\n", "p.yaml:2:1: invalid YAML: "),
    ],
)
def test_params_errors_name_line_and_column(path: str, text: str, message: str) -> None:
    with pytest.raises(LockshipError) as error:
        parse_params(text, path)
    assert error.value.problems[0].startswith(message)


def test_params_by_suffix_and_loader() -> None:
    assert parse_params('{"a": {"b": 1e3}}', "p.JSON").data == {"a": {"b": 1000.0}}
    assert parse_params("a = 1\n[b]\nc = 'x'\n", "p.toml").data == {"a": 1, "b": {"c": "x"}}
    assert parse_params("a: 1e-3\n", "p.yaml").data == {"a": 0.001}
    assert parse_params("a: 1e-3\n", "p.yaml", loader=Loader).data == {"a": "1e-3"}


def test_read_params_as_dvc_reads_them(tmp_path: Path) -> None:
    write(
        tmp_path, {"p.json": '{\n  "a": 1,\n  "b": {"c": 2}\n}\n', "e.yaml": "", "l.yaml": "[1]\n", "x.py": "A = 1\n"}
    )
    document = read_params(str(tmp_path), "p.json")
    assert document.data == {"a": 1, "b": {"c": 2}} and document.where(("b", "c")) == "p.json:3"
    assert read_params(str(tmp_path), "e.yaml").data == {}
    with pytest.raises(LockshipError, match=r"^l.yaml:1: expected a mapping of params$"):
        read_params(str(tmp_path), "l.yaml")
    with pytest.raises(LockshipError, match="Python params files are not supported"):
        read_params(str(tmp_path), "x.py")
    with pytest.raises(LockshipError, match=r"^none.yaml: file not found$"):
        read_params(str(tmp_path), "none.yaml")


def test_params_and_vars_files_outside_the_repository_are_never_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path, {"secret.yaml": "token: TOPSECRET\n", "repo/p.yaml": "a: 1\n"})
    (repo / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    outside = "lockship reads only regular files and directories inside the repository"
    for relpath, why in [
        ("../secret.yaml", "is outside the repository"),
        (str(tmp_path / "secret.yaml"), "is outside the repository"),
        ("link.yaml", "leads outside the repository through a symlink"),
    ]:
        with pytest.raises(LockshipError) as error:
            read_params(str(repo), relpath)
        assert error.value.problems == (f"{relpath}: {why}; {outside}",)
    write(repo, {"dvc.yaml": "vars: [../secret.yaml]\nstages:\n  s:\n    cmd: echo ${token}\n"})
    with pytest.raises(LockshipError) as error:
        load_stages(str(repo), "dvc.yaml")
    assert error.value.problems == (f"dvc.yaml:1: vars: ../secret.yaml: is outside the repository; {outside}",)
