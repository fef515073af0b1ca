"""The run directory's safety rules: a study name stays one folder under the results root, and a storage URL
never reaches a manifest or a message with its password."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from automl.cli.main import app
from automl.space.errors import UserInputError
from automl.store.run import check_study_name, create_run, load_run, redact_url

# --- study names ----------------------------------------------------------------------------------------------

BAD_NAMES = ["../../x", "..", ".", "a/b", "a\\b", "..\\x", "/tmp/x", "C:x", "", "x\0y"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_study_names_with_path_parts_are_refused(name):
    with pytest.raises(UserInputError, match="not a valid study name"):
        check_study_name(name)


@pytest.mark.parametrize("name", ["mnist1d_cnn", "run-2.v3", "a..b", "wine"])
def test_plain_study_names_pass(name):
    check_study_name(name)


def test_create_run_refuses_a_name_outside_the_root_and_writes_nothing(tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text("name: s\n")
    root = tmp_path / "deep" / "res"
    with pytest.raises(UserInputError, match=r"'\.\./\.\./x'"):
        create_run("../../x", space, backend="optuna", storage=None, seed=0, settings={}, root=root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def _tiny_space(path, name: str):
    doc = {"name": name, "dataset": {"name": "wine"}, "objective": {"metric": "val_accuracy", "direction": "maximize"},
           "model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": 4, "activation": "relu"}},
           "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "max_epochs": 1}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_cli_search_refuses_study_with_path_parts_exit_2(tmp_path):
    space = _tiny_space(tmp_path / "tiny.yaml", "tiny")
    res = tmp_path / "a" / "results"
    out = CliRunner().invoke(app, ["search", str(space), "--study", "../../x", "--results-dir", str(res), "--trials", "1"])
    assert out.exit_code == 2, out.output
    assert "--study '../../x' is not a valid study name" in out.output and "Traceback" not in out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # no results dir, no x


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs_escape", "sub\\dir"])
def test_cli_search_refuses_space_name_with_path_parts_exit_2(tmp_path, name):
    space = _tiny_space(tmp_path / "tiny.yaml", name)
    res = tmp_path / "results"
    out = CliRunner().invoke(app, ["search", str(space), "--results-dir", str(res), "--trials", "1"])
    assert out.exit_code == 2, out.output
    # the space validator refuses it first (the study-name check behind it is tested above)
    assert f"name: {name!r} must be a simple name" in out.output and "Traceback" not in out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


# --- password redaction ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "secret", "kept"), [
    ("postgresql://user:secret@host/db", "secret", ["postgresql://user:***@host/db"]),
    ("postgresql://user:p@ss@host:5432/db", "ss", ["user", "host:5432/db"]),
    ("postgresql://user:p@ss@word@db.example.org/optuna", "word", ["db.example.org/optuna"]),
    ("postgresql://user:pa:ss@host/db", "pa:ss", ["host/db"]),
    ("postgresql://user@host/db?password=hunter2", "hunter2", ["user@host/db", "password=***"]),
    ("postgresql+psycopg://user@host/db?sslmode=require&PASSWORD=hunter2", "hunter2", ["sslmode=require"]),
    ("mysql://u:s3cr3t@h/db?token=abc123&charset=utf8", "abc123", ["charset=utf8"]),
    ("postgresql://user:p%40ss@host/db", "p%40ss", ["host/db"]),
    ("postgresql://user:p@ss:w@host:5432/db", "ss:w", ["host"]),  # SQLAlchemy cannot parse this one
])
def test_redact_url_hides_every_form_of_password(url, secret, kept):
    safe = redact_url(url)
    assert secret not in safe and "***" in safe, safe
    for part in kept:
        assert part in safe, safe


@pytest.mark.parametrize("url", ["sqlite:////tmp/r/study.db", "sqlite:///study.db", "journal:/tmp/j.log",
                                 "/tmp/run/journal.log", "postgresql://user@host/db?sslmode=require"])
def test_redact_url_leaves_urls_without_secrets_unchanged(url):
    assert redact_url(url) == url
    assert redact_url(None) is None


def test_manifest_never_holds_the_password_and_resume_asks_for_it(tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text("name: s\n")
    url = "postgresql://user:p@ss@host/db?password=q1w2"
    info = create_run("s", space, backend="optuna", storage=url, seed=0, settings={}, root=tmp_path / "res")
    text = (info.run_dir / "manifest.json").read_text()
    assert "ss@" not in text and "q1w2" not in text and json.loads(text)["storage_redacted"] is True
    with pytest.raises(UserInputError, match="--storage"):
        load_run(info.run_dir)
    assert load_run(info.run_dir, storage=url).storage == url
