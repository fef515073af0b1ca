"""Built-in datasets from installed packages (no download): mnist1d and four scikit-learn sets."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np

from automl.data.errors import DataError, did_you_mean, listing
from automl.data.files import RawData

BUILTIN_DATASETS: dict[str, str] = {
    "mnist1d": "MNIST-1D synthetic 1-D digits: 4,000 train+val / 1,000 fixed test signals of length 40, "
    "10 classes (sequence (1, 40))",
    "digits": "scikit-learn handwritten digits: 1,797 8x8 images, pixels / 16, 10 classes (image (1, 8, 8))",
    "breast_cancer": "Wisconsin breast cancer: 569 samples, 30 numeric features, binary "
    "malignant=0 / benign=1 (flat)",
    "wine": "Wine recognition: 178 samples, 13 numeric features, 3 cultivars (flat, multiclass)",
    "diabetes": "Diabetes progression: 442 samples, 10 numeric features, 1 regression target (flat)",
}


def cache_dir() -> Path:
    """`$AUTOML_CACHE_DIR` or ~/.cache/automl."""
    return Path(os.environ.get("AUTOML_CACHE_DIR") or "~/.cache/automl").expanduser()


def normalize_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    aliases = {"mnist_1d": "mnist1d", "breastcancer": "breast_cancer", "cancer": "breast_cancer"}
    return aliases.get(key, key)


def check_builtin(name: str) -> str:
    key = normalize_name(name)
    if key not in BUILTIN_DATASETS:
        raise DataError(
            name,
            f"unknown built-in dataset name {name!r}; built-in datasets: {listing(BUILTIN_DATASETS)}."
            f"{did_you_mean(key, BUILTIN_DATASETS)} For a file use `path:` instead of `name:`",
            key="name",
        )
    return key


def mnist1d_cache_path() -> Path:
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return cache_dir() / f"mnist1d-{digest}.npz"


def mnist1d_arrays() -> dict[str, np.ndarray]:
    """x (4000, 40), y, x_test (1000, 40), y_test from `make_dataset(get_dataset_args())`, cached as .npz."""
    path = mnist1d_cache_path()
    keys = ("x", "y", "x_test", "y_test")
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in keys}
        except Exception:  # corrupt or partial cache: regenerate
            pass
    import mnist1d.data as m1d

    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # make_dataset seeds the global RNGs; do not leak that into the caller
        data = m1d.make_dataset(m1d.get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = {
        "x": np.asarray(data["x"], np.float32),
        "y": np.asarray(data["y"], np.int64),
        "x_test": np.asarray(data["x_test"], np.float32),
        "y_test": np.asarray(data["y_test"], np.int64),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # atomic: concurrent loaders never see a partial file
    except OSError:
        pass  # read-only home: just do without the cache
    return arrays


def read_builtin(name: str) -> RawData:
    key = check_builtin(name)
    if key == "mnist1d":
        a = mnist1d_arrays()
        return RawData(
            name="mnist1d",
            source="mnist1d",
            format="builtin",
            task="multiclass",
            y=np.concatenate([a["y"], a["y_test"]]).astype(np.int64),
            class_names=tuple(str(i) for i in range(10)),
            x=np.concatenate([a["x"], a["x_test"]])[:, None, :].astype(np.float32),
            kind="sequence",
            fixed_test_start=len(a["x"]),
            extra_info={
                "generator": "mnist1d.data.make_dataset(get_dataset_args())",
                "cache": str(mnist1d_cache_path()),
            },
        )
    from sklearn import datasets

    if key == "digits":
        b = datasets.load_digits()
        return RawData(
            name=key,
            source=key,
            format="builtin",
            task="multiclass",
            y=b.target.astype(np.int64),
            class_names=tuple(str(i) for i in range(10)),
            x=(b.images.astype(np.float32) / 16.0)[:, None, :, :],
            kind="image",
            extra_info={"scaling": "pixels / 16"},
        )
    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }[key]
    b = loader()
    feature_names = tuple(str(f) for f in b.feature_names)
    if key == "diabetes":
        return RawData(
            name=key,
            source=key,
            format="builtin",
            task="regression",
            y=b.target.astype(np.float32)[:, None],
            target="disease progression",
            x=b.data.astype(np.float32),
            kind="flat",
            feature_names=feature_names,
        )
    names = tuple(str(n) for n in b.target_names)
    return RawData(
        name=key,
        source=key,
        format="builtin",
        task="binary" if len(names) == 2 else "multiclass",
        y=b.target.astype(np.int64),
        class_names=names,
        x=b.data.astype(np.float32),
        kind="flat",
        feature_names=feature_names,
    )
