"""Tests for automl.data: built-ins, CSV/Parquet/NPZ loaders, splits, standardization, sealed test, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from automl.data import (
    BUILTIN_DATASETS,
    DataError,
    DatasetConfig,
    SplitConfig,
    load_dataset,
    split_from_column,
    split_indices,
    subsample_indices,
)
from automl.data.builtin import mnist1d_cache_path
from automl.data.dataset import Dataset, SealedSplit, Split

HEMOLYTIC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hemolytic.npz"


def _all_indices(*parts: np.ndarray) -> np.ndarray:
    return np.sort(np.concatenate(parts))


# ------------------------------------------------------------------------------------------ built-ins


@pytest.mark.parametrize(
    ("name", "task", "kind", "shape", "n_classes", "n_outputs", "n_total"),
    [
        ("digits", "multiclass", "image", (1, 8, 8), 10, 10, 1797),
        ("breast_cancer", "binary", "flat", (30,), 2, 1, 569),
        ("wine", "multiclass", "flat", (13,), 3, 3, 178),
        ("diabetes", "regression", "flat", (10,), 0, 1, 442),
    ],
)
def test_sklearn_builtins(name, task, kind, shape, n_classes, n_outputs, n_total):
    ds = load_dataset({"name": name})
    s = ds.spec
    assert (s.name, s.task, s.input_kind, s.input_shape) == (name, task, kind, shape)
    assert (s.n_classes, s.n_outputs) == (n_classes, n_outputs)
    assert len(ds.train) + len(ds.val) + ds.n_test == n_total
    assert tuple(ds.train.x.shape[1:]) == shape and ds.train.x.dtype == torch.float32
    if task == "regression":
        assert ds.train.y.dtype == torch.float32 and ds.train.y.shape == (len(ds.train), 1)
    else:
        assert ds.train.y.dtype == torch.int64 and ds.train.y.ndim == 1
        assert set(ds.train.y.unique().tolist()) == set(range(n_classes))
        assert len(s.class_names) == n_classes
    assert ds.info["source"] == name and ds.info["format"] == "builtin"
    assert ds.info["sizes"] == {"train": len(ds.train), "val": len(ds.val), "test": ds.n_test}
    assert ds.test_reads == 0
    if name == "digits":
        assert float(ds.train.x.min()) >= 0.0 and float(ds.train.x.max()) <= 1.0  # pixels / 16
        assert ds.info["standardization"] is None
    if kind == "flat":
        assert len(s.feature_names) == shape[0]
        assert ds.info["standardization"]["n"] == shape[0]
        assert abs(float(ds.train.x.mean())) < 1e-4


def test_breast_cancer_binary_labels_are_int64_01():
    ds = load_dataset({"name": "breast-cancer"})  # dash alias
    assert ds.spec.class_names == ("malignant", "benign")
    assert set(ds.val.y.tolist()) == {0, 1} and ds.val.y.dtype == torch.int64


def test_mnist1d_spec_fixed_test_and_cache(monkeypatch):
    ds = load_dataset({"name": "mnist1d"})
    s = ds.spec
    assert (s.task, s.input_kind, s.input_shape, s.n_classes, s.n_outputs) == (
        "multiclass",
        "sequence",
        (1, 40),
        10,
        10,
    )
    assert ds.n_test == 1000 and len(ds.train) == 3600 and len(ds.val) == 400  # val = 0.1 of the 4000
    assert ds.info["split_mode"] == "fixed_test"
    assert ds.train.x.dtype == torch.float32 and ds.train.y.dtype == torch.int64
    assert mnist1d_cache_path().is_file() and mnist1d_cache_path().name.startswith("mnist1d-")

    import mnist1d.data

    def boom(*a, **k):
        raise AssertionError("make_dataset called although the cache exists")

    monkeypatch.setattr(mnist1d.data, "make_dataset", boom)
    t0 = time.perf_counter()
    again = load_dataset({"name": "mnist1d"})
    assert time.perf_counter() - t0 < 1.0
    assert torch.equal(again.train.x, ds.train.x) and torch.equal(again.val.y, ds.val.y)
    test_a = ds.read_test("test: compare with cache")
    test_b = again.read_test("test: compare with cache")
    assert torch.equal(test_a.x, test_b.x) and len(test_a) == 1000


def test_mnist1d_subsample_keeps_fixed_test_proportion():
    ds = load_dataset({"name": "mnist1d", "subsample": 500, "split": {"val": 0.2, "seed": 3}})
    assert len(ds.train) + len(ds.val) == 400 and ds.n_test == 100
    assert len(ds.val) == 80
    assert ds.info["n_samples"] == 500 and ds.info["n_samples_original"] == 5000


def test_builtin_registry_descriptions():
    assert set(BUILTIN_DATASETS) == {"mnist1d", "digits", "breast_cancer", "wine", "diabetes"}
    for desc in BUILTIN_DATASETS.values():
        assert "\n" not in desc and any(ch.isdigit() for ch in desc)


def test_builtin_rejects_file_fields():
    with pytest.raises(DataError, match="target"):
        load_dataset({"name": "wine", "target": "x"})


# ------------------------------------------------------------------------------------------ tables


def _mixed_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(1),
            "income": rng.normal(5000, 800, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "member": rng.choice([True, False], n),
            "species": np.array(["cat", "dog", "emu"])[np.arange(n) % 3],
        }
    )


def test_csv_numeric_categorical_string_target(tmp_path):
    df = _mixed_frame()
    df.to_csv(tmp_path / "pets.csv", index=False)
    ds = load_dataset({"path": "pets.csv", "target": "species"}, base_dir=tmp_path)
    s = ds.spec
    assert s.task == "multiclass" and s.class_names == ("cat", "dog", "emu") and s.n_outputs == 3
    assert s.input_kind == "flat"
    # 2 numeric + 3 city one-hot + 2 member one-hot
    assert s.input_shape == (7,)
    assert list(s.feature_names) == [
        "age",
        "income",
        "city=lyon",
        "city=nice",
        "city=paris",
        "member=False",
        "member=True",
    ]
    assert ds.train.x.dtype == torch.float32 and ds.train.y.dtype == torch.int64
    onehot = ds.train.x[:, 2:5]
    assert torch.all(onehot.sum(1) == 1)
    assert ds.info["source"] == str((tmp_path / "pets.csv").resolve()) and ds.info["format"] == "csv"
    assert ds.info["class_names"] == ["cat", "dog", "emu"] and ds.info["target"] == "species"
    assert ds.info["ratios"] == {"train": 0.8, "val": 0.1, "test": 0.1} and ds.info["seed"] == 0
    assert json.loads(json.dumps(ds.info))["sizes"] == {"train": 96, "val": 12, "test": 12}


def test_parquet_round_trip_matches_csv(tmp_path):
    df = _mixed_frame(90, seed=1)
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet", index=False)
    cfg = {"target": "species", "split": {"seed": 7}}
    a = load_dataset({"path": str(tmp_path / "d.csv"), **cfg})
    b = load_dataset({"path": str(tmp_path / "d.parquet"), **cfg})
    assert b.info["format"] == "parquet"
    assert a.spec == b.spec
    torch.testing.assert_close(a.train.x, b.train.x)
    assert torch.equal(a.train.y, b.train.y) and torch.equal(a.val.y, b.val.y)


def test_standardization_uses_train_statistics_only(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    split = np.array(["train"] * 200 + ["val"] * 50 + ["test"] * 50)
    v = rng.normal(0, 1, n)
    v[200:] += 10.0  # val/test shifted: must NOT be re-centred
    df = pd.DataFrame({"v": v * 3 + 5, "w": rng.normal(2, 4, n), "split": split, "y": rng.normal(size=n)})
    df.to_csv(tmp_path / "shift.csv", index=False)
    ds = load_dataset({"path": str(tmp_path / "shift.csv"), "target": "y", "split": {"column": "split"}})
    x_tr, x_va = ds.train.x.double(), ds.val.x.double()
    assert torch.allclose(x_tr.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(x_tr.std(0, unbiased=False), torch.ones(2, dtype=torch.float64), atol=1e-5)
    assert float(x_va[:, 0].mean()) > 5.0  # shifted by 10 raw sd -> ~10 train sd
    assert abs(float(x_va[:, 1].std(unbiased=False)) - 1.0) > 1e-3 or abs(float(x_va[:, 1].mean())) > 1e-3
    st = ds.info["standardization"]
    train_raw = df.loc[df.split == "train", "v"].to_numpy()
    assert st["fit_on"] == "train" and st["columns"] == ["v", "w"]
    assert st["mean"][0] == pytest.approx(train_raw.mean())
    assert st["std"][0] == pytest.approx(train_raw.std())
    assert ds.spec.task == "regression" and ds.train.y.shape == (200, 1) and ds.train.y.dtype == torch.float32


def test_unknown_category_at_val_is_all_zeros(tmp_path):
    df = pd.DataFrame(
        {
            "color": ["red", "blue"] * 10 + ["green"] * 4,
            "x": np.arange(24, dtype=float),
            "y": [0, 1] * 12,
            "part": ["train"] * 20 + ["val", "val", "test", "test"],
        }
    )
    df.to_parquet(tmp_path / "c.parquet")
    ds = load_dataset({"path": str(tmp_path / "c.parquet"), "target": "y", "split": {"column": "part"}})
    assert list(ds.spec.feature_names) == ["color=blue", "color=red", "x"]
    assert torch.all(ds.val.x[:, :2] == 0)
    assert torch.all(ds.read_test("unit test").x[:, :2] == 0)
    assert torch.all(ds.train.x[:, :2].sum(1) == 1)


def test_features_drop_and_multi_target_regression(tmp_path):
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"id": np.arange(50), "a": rng.normal(size=50), "b": rng.normal(size=50)})
    df["t1"], df["t2"] = df.a * 2 + 0.1 * rng.normal(size=50), df.b - 1
    df.to_csv(tmp_path / "m.csv", index=False)
    ds = load_dataset({"path": str(tmp_path / "m.csv"), "target": ["t1", "t2"], "drop": ["id"]})
    assert ds.spec.task == "regression" and ds.spec.n_outputs == 2 and ds.train.y.shape[1] == 2
    assert ds.spec.input_shape == (2,)
    only_a = load_dataset({"path": str(tmp_path / "m.csv"), "target": "t1", "features": ["a"]})
    assert only_a.spec.input_shape == (1,) and only_a.spec.feature_names == ("a",)


def test_task_inference(tmp_path):
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "f": rng.normal(size=n),
            "bin": rng.integers(0, 2, n),
            "multi": np.arange(n) % 4,
            "reg": rng.normal(size=n),
            "many_int": np.arange(n) % 30,
            "few_float": (np.arange(n) % 3) + 0.5,
            "flag": np.arange(n) % 2 == 0,
        }
    )
    df.to_csv(tmp_path / "t.csv", index=False)
    path = str(tmp_path / "t.csv")

    def task(target, **kw):
        return load_dataset({"path": path, "target": target, "features": ["f"], **kw}).spec

    assert task("bin").task == "binary" and task("bin").n_outputs == 1
    assert task("flag").task == "binary" and task("flag").class_names == ("False", "True")
    assert task("multi").task == "multiclass" and task("multi").class_names == ("0", "1", "2", "3")
    assert task("reg").task == "regression"
    with pytest.raises(DataError, match="many_int") as e:
        task("many_int")
    assert "t.csv" in str(e.value) and "task" in str(e.value)
    with pytest.raises(DataError, match="few_float"):
        task("few_float")
    assert task("many_int", task="regression").task == "regression"
    assert task("few_float", task="multiclass").class_names == ("0.5", "1.5", "2.5")
    with pytest.raises(DataError, match="binary"):
        task("multi", task="binary")


def test_classes_mapping_on_table_target(tmp_path):
    df = pd.DataFrame({"f": np.arange(30.0), "y": ["yes", "no", "no"] * 10})
    df.to_csv(tmp_path / "yn.csv", index=False)
    ds = load_dataset({"path": str(tmp_path / "yn.csv"), "target": "y", "classes": {"yes": 0, "no": 1}})
    assert ds.spec.class_names == ("yes", "no")
    all_y = torch.cat([ds.train.y, ds.val.y, ds.read_test("unit test").y])
    assert torch.bincount(all_y).tolist() == [10, 20]


# ------------------------------------------------------------------------------------------ npz


def _labels(n: int, k: int = 2) -> np.ndarray:
    return (np.arange(n) % k).astype(np.int64)


def test_npz_flat(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "flat.npz", x=rng.normal(3, 2, (100, 6)), y=_labels(100, 3))
    ds = load_dataset({"path": str(tmp_path / "flat.npz")})
    assert ds.spec.input_kind == "flat" and ds.spec.input_shape == (6,) and ds.spec.task == "multiclass"
    assert torch.allclose(ds.train.x.mean(0), torch.zeros(6), atol=1e-5)  # flat: standardized on train
    assert ds.info["standardization"]["per"] == "column"
    raw = load_dataset({"path": str(tmp_path / "flat.npz"), "standardize": False})
    assert raw.info["standardization"] is None and float(raw.train.x.mean()) > 2.0


def test_npz_images_hw_and_hwc(tmp_path):
    rng = np.random.default_rng(0)
    hw = rng.random((40, 8, 6))
    hwc = rng.random((40, 8, 6, 3)).astype(np.float32)
    np.savez(tmp_path / "hw.npz", X=hw, y=_labels(40))
    np.savez(tmp_path / "hwc.npz", images=hwc, labels=_labels(40), x_key_unused=np.zeros(1))
    a = load_dataset({"path": str(tmp_path / "hw.npz")})
    assert a.spec.input_kind == "image" and a.spec.input_shape == (1, 8, 6)
    b = load_dataset(
        {"path": str(tmp_path / "hwc.npz"), "x_key": "images", "y_key": "labels", "split": {"seed": 1}}
    )
    assert b.spec.input_kind == "image" and b.spec.input_shape == (3, 8, 6)
    assert b.info["ignored_keys"] == ["x_key_unused"]
    # channels-first conversion keeps pixel values: every train image equals some source image transposed
    src = torch.from_numpy(hwc).permute(0, 3, 1, 2)
    first = b.train.x[0]
    assert any(torch.equal(first, src[i]) for i in range(len(src)))


def test_npz_tokens_and_sequence_option(tmp_path):
    rng = np.random.default_rng(0)
    tok = rng.integers(0, 9, (60, 12))
    tok[:, 10:] = 0
    np.savez(tmp_path / "tok.npz", x=tok, y=_labels(60))
    ds = load_dataset({"path": str(tmp_path / "tok.npz")})
    assert ds.spec.input_kind == "tokens" and ds.spec.input_shape == (12,)
    assert ds.spec.vocab_size == int(tok.max()) + 1 and ds.train.x.dtype == torch.int64
    assert ds.info["standardization"] is None
    np.savez(tmp_path / "sig.npz", x=rng.normal(size=(60, 25)), y=_labels(60))
    seq = load_dataset({"path": str(tmp_path / "sig.npz"), "input": "sequence"})
    assert seq.spec.input_kind == "sequence" and seq.spec.input_shape == (1, 25)


def test_npz_with_given_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "xt.npz",
        x=rng.normal(size=(100, 3)),
        y=_labels(100),
        x_test=rng.normal(size=(30, 3)),
        y_test=_labels(30),
    )
    ds = load_dataset({"path": str(tmp_path / "xt.npz")})
    assert ds.n_test == 30 and len(ds.train) == 90 and len(ds.val) == 10
    assert ds.info["split_mode"] == "fixed_test"


def test_npz_per_class_sorted_keys_and_mapping(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "pc.npz",
        zeta=rng.normal(size=(20, 4)),
        alpha=rng.normal(size=(25, 4)),
        mid=rng.normal(size=(15, 4)),
    )
    ds = load_dataset({"path": str(tmp_path / "pc.npz")})
    assert ds.spec.task == "multiclass" and ds.spec.class_names == ("alpha", "mid", "zeta")
    all_y = torch.cat([ds.train.y, ds.val.y, ds.read_test("unit test").y])
    assert torch.bincount(all_y).tolist() == [25, 15, 20]
    mapped = load_dataset({"path": str(tmp_path / "pc.npz"), "classes": {"zeta": 0, "alpha": 1, "mid": 1}})
    assert mapped.spec.task == "binary" and mapped.spec.class_names == ("zeta", "alpha+mid")
    with pytest.raises(DataError, match="mid") as e:
        load_dataset({"path": str(tmp_path / "pc.npz"), "classes": {"zeta": 0, "alpha": 1}})
    assert "pc.npz" in str(e.value)


@pytest.fixture(scope="module")
def hemolytic_raw():
    if not HEMOLYTIC.is_file():
        pytest.skip(f"shared data file missing: {HEMOLYTIC}")
    with np.load(HEMOLYTIC, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_hemolytic_one_hot_sequence(hemolytic_raw):
    ds = load_dataset({"path": str(HEMOLYTIC)})
    s = ds.spec
    assert (s.task, s.input_kind, s.input_shape, s.n_outputs) == ("binary", "sequence", (20, 200), 1)
    assert s.class_names == ("negatives", "positives")
    assert len(ds.train) + len(ds.val) + ds.n_test == 634
    assert ds.train.x.dtype == torch.float32 and ds.train.y.dtype == torch.int64
    # positives -> 1: every train sample labelled 1 is one of the `positives` arrays
    pos = {a.tobytes() for a in hemolytic_raw["positives"].transpose(0, 2, 1).astype(np.float32)}
    neg = {a.tobytes() for a in hemolytic_raw["negatives"].transpose(0, 2, 1).astype(np.float32)}
    xs, ys = ds.train.x.numpy(), ds.train.y.numpy()
    for i in range(0, len(xs), 7):
        b = xs[i].tobytes()
        assert (b in pos) if ys[i] == 1 else (b in neg)


def test_hemolytic_tokens_relative_path(hemolytic_raw, monkeypatch):
    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    ds = load_dataset({"path": "../shared/data/hemolytic.npz", "input": "tokens", "split": {"seed": 5}})
    s = ds.spec
    assert (s.input_kind, s.input_shape, s.vocab_size) == ("tokens", (200,), 21)
    x = ds.train.x
    assert x.dtype == torch.int64 and int(x.min()) == 0 and int(x.max()) <= 20
    pos = {
        tuple(r)
        for r in (
            np.where(hemolytic_raw["positives"].sum(-1) > 0, hemolytic_raw["positives"].argmax(-1) + 1, 0)
        )
    }
    for i in range(0, len(x), 11):
        assert (tuple(x[i].tolist()) in pos) == (int(ds.train.y[i]) == 1)
    assert ds.info["source"] == str(HEMOLYTIC.resolve())


# ------------------------------------------------------------------------------------------ splits


def test_split_stratified_proportions_and_reproducible():
    y = np.concatenate([np.full(503, 0), np.full(301, 1), np.full(190, 2), np.full(7, 3)])
    rng = np.random.default_rng(0)
    y = rng.permutation(y)
    ratios = (0.7, 0.2, 0.1)
    parts = split_indices(y, ratios, seed=1)
    assert [len(p) for p in parts] == [701, 200, 100]
    assert np.array_equal(_all_indices(*parts), np.arange(len(y)))
    for c in range(4):
        n_c = int((y == c).sum())
        for p, r in zip(parts, ratios, strict=True):
            assert abs(int((y[p] == c).sum()) - r * n_c) <= 1.0
    again = split_indices(y, ratios, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    other = split_indices(y, ratios, seed=2)
    assert not np.array_equal(parts[1], other[1])
    # dict ratios, tolerance 1e-6 and non-stratified regression targets
    reg = split_indices(rng.normal(size=100), {"train": 0.8, "val": 0.1, "test": 0.1 + 5e-7}, seed=0)
    assert [len(p) for p in reg] == [80, 10, 10]
    with pytest.raises(DataError, match="sum"):
        split_indices(y, (0.8, 0.1, 0.2))


def test_dataset_split_is_seeded():
    a = load_dataset({"name": "wine", "split": {"seed": 11}})
    b = load_dataset({"name": "wine", "split": {"seed": 11}})
    c = load_dataset({"name": "wine", "split": {"seed": 12}})
    assert torch.equal(a.val.x, b.val.x) and torch.equal(a.val.y, b.val.y)
    assert not torch.equal(a.val.x, c.val.x)


def test_subsample_is_stratified_and_seeded():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    idx = subsample_indices(y, 100, seed=0)
    assert len(idx) == 100 and np.bincount(y[idx]).tolist() == [50, 30, 20]
    assert np.array_equal(idx, subsample_indices(y, 100, seed=0))
    ds = load_dataset({"name": "digits", "subsample": 200})
    assert len(ds.train) + len(ds.val) + ds.n_test == 200 and ds.info["subsample"] == 200


def test_explicit_split_column(tmp_path):
    n = 40
    part = np.array(["train"] * 25 + ["Validation"] * 9 + ["TEST"] * 6)
    df = pd.DataFrame({"a": np.arange(n, dtype=float), "y": np.arange(n) % 2, "part": part})
    df.to_csv(tmp_path / "s.csv", index=False)
    ds = load_dataset(
        {"path": str(tmp_path / "s.csv"), "target": "y", "split": {"column": "part", "seed": 3}}
    )
    assert (len(ds.train), len(ds.val), ds.n_test) == (25, 9, 6)
    assert ds.info["split_mode"] == "column" and ds.info["split_column"] == "part"
    assert ds.spec.input_shape == (1,)  # the split column is not a feature
    # val rows are exactly the rows marked validation (a is standardized with train stats: undo)
    st = ds.info["standardization"]
    a_val = sorted((ds.val.x[:, 0].double() * st["std"][0] + st["mean"][0]).round().tolist())
    assert a_val == list(range(25, 34))
    tr, va, te = split_from_column(part, source="s.csv", column="part")
    assert (len(tr), len(va), len(te)) == (25, 9, 6)


def test_npz_split_key(tmp_path):
    part = np.array(["train"] * 30 + ["val"] * 5 + ["test"] * 5)
    np.savez(tmp_path / "k.npz", x=np.random.default_rng(0).normal(size=(40, 2)), y=_labels(40), fold=part)
    ds = load_dataset({"path": str(tmp_path / "k.npz"), "split": {"column": "fold"}})
    assert (len(ds.train), len(ds.val), ds.n_test) == (30, 5, 5)


# ------------------------------------------------------------------------------------------ sealed test


def test_sealed_test_split_counts_reads_only_via_read_test():
    ds = load_dataset({"name": "wine"})
    for _ in range(3):
        _ = ds.train.x.sum() + ds.val.x.sum(), len(ds.train), len(ds.val), ds.spec, ds.info, ds.n_test
        _ = ds.train.subset(5), ds.val.to("cpu")
    assert ds.test_reads == 0
    assert "reads=0" in repr(ds._test)
    first = ds.read_test("final report")
    assert ds.test_reads == 1
    ds.read_test("final report (again)")
    assert ds.test_reads == 2 and ds._test.reads == ["final report", "final report (again)"]
    assert len(first) == ds.n_test == 18
    assert repr(ds._test) == "SealedSplit(n=18, reads=2)"


# ------------------------------------------------------------------------------------------ config


def test_dataset_config_model():
    cfg = DatasetConfig.model_validate({"path": "a.csv", "target": "y", "split": {"train": 0.6}})
    assert cfg.split.val == pytest.approx(0.2) and cfg.split.test == pytest.approx(0.2)
    assert SplitConfig(train=0.7, val=0.2).test == pytest.approx(0.1)
    assert "split" in DatasetConfig.model_json_schema()["properties"]
    with pytest.raises(ValueError):
        DatasetConfig.model_validate({"path": "a.csv", "name": "wine"})
    with pytest.raises(ValueError):
        DatasetConfig.model_validate({"path": "a.csv", "bogus": 1})
    with pytest.raises(ValueError):
        SplitConfig(train=0.8, val=0.3, test=0.1)
    assert DatasetConfig.model_validate({"path": "p.npz", "classes": {1: 1, 0: 0}}).classes == {
        "1": 1,
        "0": 0,
    }


def test_base_dir_then_cwd_resolution(tmp_path, monkeypatch):
    sub = tmp_path / "spaces"
    sub.mkdir()
    np.savez(sub / "here.npz", x=np.random.default_rng(0).normal(size=(30, 2)), y=_labels(30))
    ds = load_dataset({"path": "here.npz"}, base_dir=sub)
    assert ds.info["source"] == str((sub / "here.npz").resolve())
    monkeypatch.chdir(tmp_path)
    ds2 = load_dataset({"path": "spaces/here.npz"}, base_dir=tmp_path / "elsewhere")
    assert ds2.info["source"] == ds.info["source"]


# ------------------------------------------------------------------------------------------ errors


def _err(cfg: dict, **kw) -> str:
    with pytest.raises(DataError) as e:
        load_dataset(cfg, **kw)
    assert isinstance(e.value, ValueError)
    return str(e.value)


def test_error_missing_file(tmp_path):
    msg = _err({"path": "nope.csv", "target": "y"}, base_dir=tmp_path)
    assert "nope.csv" in msg and "not found" in msg and str(tmp_path) in msg


def test_error_unknown_builtin():
    msg = _err({"name": "mnist"})
    assert "'mnist'" in msg and "Did you mean 'mnist1d'" in msg
    assert all(n in msg for n in BUILTIN_DATASETS)


def test_error_unsupported_suffix(tmp_path):
    (tmp_path / "table.xlsx").write_text("x")
    msg = _err({"path": str(tmp_path / "table.xlsx")})
    assert "table.xlsx" in msg and "'.xlsx'" in msg and "format" in msg


def test_error_npz_wrong_keys(tmp_path):
    np.savez(tmp_path / "only_x.npz", x=np.zeros((5, 2)))
    msg = _err({"path": str(tmp_path / "only_x.npz")})
    assert "only_x.npz" in msg and "'x'" in msg and "keys" in msg
    np.savez(tmp_path / "feat.npz", feats=np.zeros((5, 2)), labels=np.zeros(5))
    msg = _err({"path": str(tmp_path / "feat.npz"), "x_key": "features", "y_key": "labels"})
    assert "feat.npz" in msg and "'features'" in msg and "'feats'" in msg and "'labels'" in msg


def test_error_object_and_ragged_arrays(tmp_path):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros(3), np.zeros(5)
    np.savez(tmp_path / "ragged.npz", x=ragged, y=np.array([0, 1]))
    msg = _err({"path": str(tmp_path / "ragged.npz")})
    assert "ragged.npz" in msg and "'x'" in msg and "object array" in msg
    (tmp_path / "text.npz").write_text("not a zip archive")
    msg = _err({"path": str(tmp_path / "text.npz")})
    assert "text.npz" in msg and "never" in msg


def test_error_class_arrays_shape_mismatch(tmp_path):
    np.savez(tmp_path / "cls.npz", positives=np.zeros((4, 10, 3)), negatives=np.zeros((4, 12, 3)))
    msg = _err({"path": str(tmp_path / "cls.npz")})
    assert "cls.npz" in msg and "'positives': (4, 10, 3)" in msg and "'negatives': (4, 12, 3)" in msg


def test_error_csv_missing_target(tmp_path):
    pd.DataFrame({"feature": [1.0, 2.0], "label": [0, 1]}).to_csv(tmp_path / "nt.csv", index=False)
    msg = _err({"path": str(tmp_path / "nt.csv"), "target": "lable"})
    assert "nt.csv" in msg and "'lable'" in msg and "Did you mean 'label'" in msg and "'feature'" in msg


def test_error_single_class(tmp_path):
    pd.DataFrame({"f": np.arange(10.0), "y": ["a"] * 10}).to_csv(tmp_path / "one.csv", index=False)
    msg = _err({"path": str(tmp_path / "one.csv"), "target": "y"})
    assert "one.csv" in msg and "'y'" in msg and "'a'" in msg and "single" in msg
    np.savez(tmp_path / "one.npz", x=np.zeros((10, 2)), y=np.ones(10, dtype=np.int64))
    msg = _err({"path": str(tmp_path / "one.npz"), "task": "binary"})
    assert "one.npz" in msg and "'y'" in msg and "single" in msg


def test_error_nan_inf_features(tmp_path):
    df = pd.DataFrame({"age": [1.0, np.nan, 3.0, np.nan, 5.0, 6.0], "ok": np.arange(6.0), "y": [0, 1] * 3})
    df.to_csv(tmp_path / "nan.csv", index=False)
    msg = _err({"path": str(tmp_path / "nan.csv"), "target": "y"})
    assert "nan.csv" in msg and "'age'" in msg and "2 NaN" in msg and "'ok'" not in msg
    x = np.zeros((10, 3))
    x[2, 1] = np.inf
    x[4, 0] = np.nan
    np.savez(tmp_path / "inf.npz", x=x, y=_labels(10))
    msg = _err({"path": str(tmp_path / "inf.npz")})
    assert "inf.npz" in msg and "'x'" in msg and "1 NaN and 1 inf" in msg and "2 sample" in msg


def test_error_too_few_samples_for_split(tmp_path):
    y = np.array([0] * 20 + [1] * 20 + [2] * 2)
    np.savez(tmp_path / "rare.npz", x=np.random.default_rng(0).normal(size=(42, 2)), y=y)
    msg = _err({"path": str(tmp_path / "rare.npz")})
    assert "rare.npz" in msg and "'2' has 2" in msg and "stratify" in msg
    ok = load_dataset({"path": str(tmp_path / "rare.npz"), "split": {"stratify": False}})
    assert len(ok.train) + len(ok.val) + ok.n_test == 42
    np.savez(tmp_path / "tiny.npz", x=np.zeros((2, 2)), y=np.array([0.5, 1.5]))
    msg = _err({"path": str(tmp_path / "tiny.npz"), "task": "regression"})
    assert "tiny.npz" in msg and "too few samples" in msg


def test_error_invalid_config_is_data_error(tmp_path):
    msg = _err({"path": "x.csv", "target": "y", "bogus": 1})
    assert "x.csv" in msg and "bogus" in msg
    msg = _err({"path": "x.csv", "split": {"train": 0.9, "val": 0.2, "test": 0.1}})
    assert "x.csv" in msg and "sum" in msg


def test_regression_targets_standardized_with_train_statistics_only():
    ds = load_dataset({"name": "diabetes"})
    ts = ds.info["target_standardization"]
    assert ts is not None and ts["std"][0] > 1.0  # raw diabetes targets span 25..346
    y_tr = ds.train.y.double()
    assert abs(float(y_tr.mean())) < 1e-5 and abs(float(y_tr.std(unbiased=False)) - 1.0) < 1e-5
    assert abs(float(ds.val.y.double().mean())) > 1e-4  # val is scaled with train stats, not its own
    raw = load_dataset({"name": "diabetes", "standardize_target": False})
    assert raw.info["target_standardization"] is None
    assert torch.allclose(ds.train.y * ts["std"][0] + ts["mean"][0], raw.train.y, atol=1e-3)


# --- the driver's arrays handed to Optuna workers (automl.data.handoff) ------------------------------------------

def test_search_data_handoff_round_trips_without_test_arrays_or_the_loaders_imports(tmp_path):
    """A worker gets the driver's exact train/validation tensors and spec from one file, read with
    weights_only, never the test arrays, and without importing scikit-learn (the built-ins' loader)."""
    import subprocess
    import sys

    from automl.data.handoff import load_search_data, save_search_data

    full = load_dataset({"name": "wine"})
    with pytest.raises(ValueError, match="no test arrays"):
        save_search_data(full, tmp_path / "x.pt")
    data = full.for_search()
    path = tmp_path / "search_data.pt"
    assert save_search_data(data, path) and not list(tmp_path.glob(".*tmp"))
    back = load_search_data(path)
    assert back.spec == data.spec and back.info == json.loads(json.dumps(data.info))
    assert back.preprocessor == data.preprocessor and back.n_test == data.n_test == full.n_test > 0
    assert not back.holds_test_arrays and "test" not in torch.load(path, weights_only=True)
    for a, b in ((back.train, data.train), (back.val, data.val)):
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and a.x.dtype == b.x.dtype and a.y.dtype == b.y.dtype
    # the tensors are the file's pages, mapped (workers share one copy), privately: a write never reaches the file
    assert str(path) in Path("/proc/self/maps").read_text()
    first = float(data.train.x.flatten()[0])
    back.train.x.flatten()[0] = first + 1
    assert float(load_search_data(path).train.x.flatten()[0]) == first
    # provenance that is not plain JSON is kept as text (workers never read it); the spec is exact
    odd = data.for_search()
    odd.info["loaded_with"] = np.int64(3)
    assert save_search_data(odd, tmp_path / "odd.pt") and load_search_data(tmp_path / "odd.pt").info["loaded_with"] == "3"
    # a file that cannot be written: False, nothing half-written left, and the workers load the data themselves
    assert not save_search_data(data, tmp_path / "no_such_dir" / "search_data.pt")
    assert not list(tmp_path.glob("**/.search_data*"))
    # a split that is a view of more rows is written as its own rows only (never the storage behind it)
    rows = torch.cat([data.train.x, data.val.x])
    view = Dataset(data.spec, Split(rows[:10], data.train.y[:10]), data.val, SealedSplit.withheld(1), {})
    save_search_data(view, tmp_path / "view.pt")
    x = load_search_data(tmp_path / "view.pt").train.x
    assert torch.equal(x, rows[:10]) and x.untyped_storage().nbytes() == x.numel() * x.element_size()

    space = tmp_path / "s.yaml"
    space.write_text("name: s\ndataset: {name: wine}\nmodel: {family: mlp}\n")
    code = ("import sys; from automl.backends.optuna.objective import Objective; "
            "from automl.backends.optuna.settings import OptunaSettings; "
            f"o = Objective({str(space)!r}, OptunaSettings(), data_path={str(path)!r}); "
            "_, d, metric, _ = o._load(); "
            "print(metric, len(d.train), len(d.val), d.holds_test_arrays, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["val_accuracy", str(len(data.train)), str(len(data.val)), "False", "False"]
