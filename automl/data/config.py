"""`DatasetConfig`: the `dataset:` section of a search-space YAML, as a pydantic v2 model.

Other modules embed `DatasetConfig` in their own schema; `load_dataset` accepts it or a plain dict.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from automl.data.spec import Task

Format = Literal["csv", "tsv", "parquet", "npz"]
InputOption = Literal["auto", "flat", "image", "sequence", "tokens"]

RATIO_TOL = 1e-6


class SplitConfig(BaseModel):
    """How to cut the data into train / val / test.

    Ratios must each lie in (0, 1) and sum to 1 (tolerance 1e-6). When only some ratios are given the
    missing ones are filled in: train alone -> val = test = (1 - train) / 2; two given -> the third is the
    remainder. `column` names an explicit split column (CSV/Parquet column or NPZ key) whose values are
    train / val / test (also accepted: training, valid, validation, dev, testing); ratios are then ignored.
    """

    model_config = ConfigDict(extra="forbid")

    train: float = Field(0.8, description="train fraction, in (0, 1); the three ratios sum to 1")
    val: float = Field(0.1, description="validation fraction: trials are scored and early-stopped on it")
    test: float = Field(0.1, description="test fraction, sealed until finalize")
    seed: int = Field(0, description="seed of the split and of `subsample`")
    stratify: bool = Field(True, description="keep class proportions in every split (classification)")
    column: str | None = Field(None, description="column (NPZ: key) whose values train / val / test give the "
                               "split; ratios are then ignored")

    @model_validator(mode="after")
    def _fill_and_check(self) -> SplitConfig:
        given = self.model_fields_set & {"train", "val", "test"}
        missing = [k for k in ("train", "val", "test") if k not in given]
        if given and missing:
            rest = 1.0 - sum(getattr(self, k) for k in given)
            if len(missing) == 1:
                object.__setattr__(self, missing[0], rest)
            elif "train" in given:  # val and test missing
                object.__setattr__(self, "val", rest / 2)
                object.__setattr__(self, "test", rest / 2)
            else:  # train and one other missing: keep the other's default, train takes the rest
                other = missing[1] if missing[0] == "train" else missing[0]
                object.__setattr__(self, "train", rest - getattr(self, other))
        for k in ("train", "val", "test"):
            v = getattr(self, k)
            if not 0.0 < v < 1.0:
                raise ValueError(f"split.{k} = {v:g} must lie strictly between 0 and 1")
        total = self.train + self.val + self.test
        if abs(total - 1.0) > RATIO_TOL:
            raise ValueError(
                f"split ratios train={self.train:g}, val={self.val:g}, test={self.test:g} sum to {total:g}; "
                "they must sum to 1"
            )
        return self

    @property
    def ratios(self) -> tuple[float, float, float]:
        return (self.train, self.val, self.test)


_FILE_ONLY = ("format", "target", "task", "features", "drop", "classes", "x_key", "y_key")


class DatasetConfig(BaseModel):
    """Where the data comes from and how to read it. Set exactly one of `name` (built-in) or `path` (file)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None, description="built-in dataset: mnist1d, digits, breast_cancer, wine, diabetes"
    )
    path: str | None = Field(
        None, description="CSV / Parquet / NPZ file; relative to the YAML folder, then CWD"
    )
    format: Format | None = Field(None, description="file format; inferred from the suffix when absent")
    target: str | list[str] | None = Field(None, description="target column(s) of a CSV/Parquet file")
    task: Task | None = Field(None, description="binary | multiclass | regression; inferred when absent")
    features: list[str] | None = Field(None, description="CSV/Parquet: feature columns (default: all others)")
    drop: list[str] = Field(default_factory=list, description="CSV/Parquet: columns to ignore")
    input: InputOption = Field("auto", description="how to read NPZ feature arrays")
    classes: dict[str, int] | None = Field(None, description="label value (or NPZ key) -> class id 0..k-1")
    x_key: str | None = Field(None, description="NPZ: key of the feature array (default x or X)")
    y_key: str | None = Field(None, description="NPZ: key of the target array (default y or Y)")
    standardize: bool | None = Field(
        None, description="standardize features with train statistics (default: flat inputs yes, others no)"
    )
    standardize_target: bool = Field(
        True, description="regression: scale targets to zero mean, unit variance with train statistics"
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    subsample: int | None = Field(None, ge=1, description="keep at most N rows (stratified, seeded)")

    @field_validator("classes", mode="before")
    @classmethod
    def _str_keys(cls, v: object) -> object:
        if isinstance(v, dict):
            return {str(k): val for k, val in v.items()}
        return v

    @field_validator("target", mode="before")
    @classmethod
    def _one_target(cls, v: object) -> object:
        if isinstance(v, (list, tuple)) and len(v) == 1:
            return str(v[0])
        if isinstance(v, (list, tuple)) and len(v) == 0:
            raise ValueError("target must name at least one column")
        return v

    @model_validator(mode="after")
    def _name_xor_path(self) -> DatasetConfig:
        if (self.name is None) == (self.path is None):
            raise ValueError("set exactly one of `name` (a built-in dataset) or `path` (a file)")
        if self.name is not None:
            bad = [k for k in _FILE_ONLY if k in self.model_fields_set and getattr(self, k) not in (None, [])]
            if "input" in self.model_fields_set and self.input != "auto":
                bad.append("input")
            if bad:
                raise ValueError(
                    f"fields {bad} apply to files (`path`) only, not to the built-in dataset {self.name!r}"
                )
        if self.classes is not None:
            ids = sorted(set(self.classes.values()))
            if ids != list(range(len(ids))) or len(ids) < 2:
                raise ValueError(
                    f"classes must map to the ids 0..k-1 with k >= 2, got ids {ids} from {self.classes}"
                )
        return self

    @property
    def source(self) -> str:
        return self.name if self.name is not None else str(self.path)
