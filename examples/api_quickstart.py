# %% [markdown]
# # automl from Python: search, finalize, predict
#
# A notebook-style script (run it as `python examples/api_quickstart.py`, or cell by cell in Jupyter/VS Code).
# It needs no `if __name__ == "__main__":` guard, even with several worker processes.
# The block between the two `README` markers is the README's "Python API" example, verbatim
# (tests/test_api.py runs this file and checks that the README shows the same code).

# %%
# README-BEGIN
from sklearn.datasets import load_wine

import automl

df = load_wine(as_frame=True).frame  # 13 numeric columns and the `target` column (classes 0, 1, 2)

space = {
    "name": "wine_api",
    "dataset": {"target": "target", "split": {"train": 0.7, "val": 0.15, "test": 0.15, "seed": 0}},
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "model": {"family": "mlp", "n_dense_blocks": {"low": 1, "high": 2},
              "dense_blocks": {"units": {"low": 16, "high": 128, "log": True}}},
    "training": {"lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}, "max_epochs": 30, "patience": 5},
}
run = automl.search(space, data=df, trials=6, workers=2, seed=0)  # the DataFrame is saved in the run dir
print(run.trials()[["number", "state", "value"]])
print("best validation accuracy:", run.best_value, run.best_config["model"])

report = run.finalize()  # retrain the winner, read the sealed test split once
print("test accuracy:", report["best"]["test_metrics"]["accuracy"])

model = automl.load_model(run)  # or automl.load_model("results/wine_api")
labels = model.predict(df)  # raw rows: same columns, standardization and one-hot as in training
proba = model.predict_proba(df.head())  # one column per class, in model.class_names order
print(labels[:5], proba.round(3), model.evaluate(df, df["target"]))
# README-END

# %% [markdown]
# The same run from the command line: `automl predict results/wine_api wine.csv -o predictions.csv`,
# `automl export results/wine_api --format onnx -o wine.onnx`, `automl runs`.
