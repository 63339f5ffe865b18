"""MLflow side: save the benchmark's model as an MLflow model folder (sklearn flavor + pyfunc).

Run by MLflow's own venv (``.bench/mlflow-venv``):

    python mlflow_save.py MODEL.joblib EXAMPLE.npy DEST

The input example (5 float32 rows) gives the model a tensor signature float32 [-1, 20], so
``mlflow models serve`` checks each request against it, as Shipyard does.
"""

from __future__ import annotations

import sys

import joblib
import mlflow.sklearn
import numpy as np

model = joblib.load(sys.argv[1])
example = np.load(sys.argv[2])
# MLflow's default format (skops) asks to name the tree type: the file is ours, written just now
mlflow.sklearn.save_model(model, sys.argv[3], input_example=example, skops_trusted_types=["sklearn.tree._tree.Tree"])
print(mlflow.__version__)
