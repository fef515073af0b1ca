"""The fitted preprocessing saved as JSON: raw rows encode exactly as the loader encoded them, and bad rows
(missing columns, unseen categories, NaN) get a clear error or the documented rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl.data import load_dataset, split_indices
from automl.data.preprocess import PREPROCESSOR_FILE, Preprocessor, write_preprocessor
from automl.space.errors import UserInputError


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({
        "id": np.arange(n),
        "age": rng.normal(40, 10, n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "calls": rng.integers(0, 9, n),
        "churn": rng.choice(["no", "yes"], n),
    })
    path = tmp_path / "churn.csv"
    df.to_csv(path, index=False)
    cfg = {"path": str(path), "target": "churn", "drop": ["id"], "split": {"train": 0.7, "val": 0.15, "test": 0.15}}
    return df, cfg


def test_raw_rows_encode_exactly_as_the_loader_did_after_a_json_round_trip(table, tmp_path):
    df, cfg = table
    ds = load_dataset(cfg)
    write_preprocessor(tmp_path, ds.preprocessor)
    prep = Preprocessor.load(tmp_path)
    assert json.loads((tmp_path / PREPROCESSOR_FILE).read_text())["categories"]["plan"] == ["basic", "pro", "team"]
    assert prep.columns == ["age", "plan", "calls"] and prep.drop == ["id"] and prep.class_names == ["no", "yes"]
    y = pd.Series(df["churn"]).map({"no": 0, "yes": 1}).to_numpy()
    tr, va, _ = split_indices(y, (0.7, 0.15, 0.15), 0, True)
    encoded = prep.transform(df[df.columns[::-1]])  # by column name: order and extra columns do not matter
    np.testing.assert_array_equal(encoded[tr], ds.train.x.numpy())
    np.testing.assert_array_equal(encoded[va], ds.val.x.numpy())
    np.testing.assert_array_equal(prep.target_values(df["churn"].iloc[va]), ds.val.y.numpy())
    # a file path reads the same rows
    np.testing.assert_array_equal(prep.transform(cfg["path"])[tr], ds.train.x.numpy())


def test_missing_column_unseen_category_and_nan_rules(table, tmp_path):
    df, cfg = table
    prep = Preprocessor.from_dict(load_dataset(cfg).preprocessor)
    with pytest.raises(UserInputError, match=r"lack feature column\(s\) \['plan'\]"):
        prep.transform(df.drop(columns=["plan"]))
    rows = df.head(3).copy()
    rows.loc[0, "plan"] = "enterprise"
    x = prep.transform(rows)  # documented rule: an unseen category is all zeros in its one-hot block
    names = ["age", "plan=basic", "plan=pro", "plan=team", "calls"]
    assert x.shape == (3, len(names)) and x[0, 1:4].tolist() == [0.0, 0.0, 0.0] and x[1, 1:4].sum() == 1.0
    with pytest.raises(UserInputError, match=r"'enterprise'.*never seen"):
        prep.transform(rows, unseen="error")
    with pytest.raises(UserInputError, match="unseen='drop' is not a rule"):
        prep.transform(rows, unseen="drop")
    rows.loc[1, "age"] = np.nan
    with pytest.raises(UserInputError, match="column 'age' has 1 NaN"):
        prep.transform(rows)
    with pytest.raises(UserInputError, match=r"label\(s\) \['maybe'\]"):
        prep.target_values(["yes", "maybe"])


def test_builtin_arrays_keep_their_standardization_and_named_columns(tmp_path):
    from sklearn.datasets import load_wine

    ds = load_dataset({"name": "wine", "split": {"train": 0.7, "val": 0.15, "test": 0.15}})
    prep = Preprocessor.from_dict(json.loads(json.dumps(ds.preprocessor)))
    frame = load_wine(as_frame=True).frame
    y = frame["target"].to_numpy()
    tr, _, _ = split_indices(y, (0.7, 0.15, 0.15), 0, True)
    np.testing.assert_allclose(prep.transform(frame.iloc[tr]), ds.train.x.numpy(), atol=1e-6)
    assert prep.labels().tolist() == ["class_0", "class_1", "class_2"]
    np.testing.assert_array_equal(prep.target_values(y[:5]), y[:5])  # a built-in's y holds class ids
    with pytest.raises(UserInputError, match="per-row shape"):
        prep.transform(np.zeros((2, 5)))
    with pytest.raises(UserInputError, match="format_version"):
        Preprocessor.from_dict({**ds.preprocessor, "format_version": 99})
