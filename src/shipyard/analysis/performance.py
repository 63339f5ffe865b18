"""Model performance from delayed labels: classification and regression metrics in NumPy, overall
and per time bucket. No per-row Python beyond building the label lookup once."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["classification_metrics", "performance", "regression_metrics"]

MIN_BUCKET_LABELS = 10


def _is_numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "biuf"


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy and macro precision/recall/F1 over the classes seen in either; with ``scores``
    (the probability of the positive class, binary only) also ROC AUC and log loss."""
    t, p = y_true.astype(str), y_pred.astype(str)
    classes = np.union1d(t, p)
    out = {"accuracy": float(np.mean(t == p)) if len(t) else float("nan")}
    precision, recall, f1 = [], [], []
    for c in classes:
        tp = float(np.sum((p == c) & (t == c)))
        pp, ap = float(np.sum(p == c)), float(np.sum(t == c))
        prec = tp / pp if pp else 0.0
        rec = tp / ap if ap else 0.0
        precision.append(prec)
        recall.append(rec)
        f1.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    out |= {"precision": float(np.mean(precision)), "recall": float(np.mean(recall)), "f1": float(np.mean(f1))}
    if scores is not None and len(np.unique(t)) == 2:
        positive = (t == np.unique(t)[1]).astype(float)
        out["roc_auc"] = _auc(positive, scores)
        clipped = np.clip(scores, 1e-15, 1 - 1e-15)
        out["log_loss"] = float(-np.mean(positive * np.log(clipped) + (1 - positive) * np.log(1 - clipped)))
    return out


def _auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic over average ranks (ties count half)."""
    n_pos, n_neg = positive.sum(), len(positive) - positive.sum()
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(average, counts)
    return float((ranks[positive == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    t, p = y_true.astype(float), y_pred.astype(float)
    err = p - t
    ss_tot = float(np.sum((t - t.mean()) ** 2)) if len(t) else 0.0
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1 - float(np.sum(err**2)) / ss_tot if ss_tot else float("nan"),
    }


def performance(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    at_ms: np.ndarray,
    *,
    task: str | None = None,
    scores: np.ndarray | None = None,
    buckets: int = 10,
) -> dict[str, Any] | None:
    """Metrics over all labelled rows, and over ``buckets`` equal time slices of them (``latest``
    is the newest slice with at least ten labels): how a drop shows up in time."""
    if len(y_true) == 0:
        return None
    if task is None:
        task = (
            "regression"
            if _is_numeric(y_true) and _is_numeric(y_pred) and y_pred.dtype.kind == "f"
            else "classification"
        )

    def metrics(idx: np.ndarray) -> dict[str, float]:
        if task == "regression":
            return regression_metrics(y_true[idx], y_pred[idx])
        return classification_metrics(y_true[idx], y_pred[idx], None if scores is None else scores[idx])

    everything = np.arange(len(y_true))
    lo, hi = int(at_ms.min()), int(at_ms.max())
    edges = np.linspace(lo, hi + 1, buckets + 1)
    which = np.clip(np.searchsorted(edges, at_ms, side="right") - 1, 0, buckets - 1)
    over_time: list[dict[str, Any]] = []
    for b in range(buckets):
        idx = everything[which == b]
        if len(idx):
            over_time.append({"start_ms": int(edges[b]), "end_ms": int(edges[b + 1]), "rows": len(idx),
                              "metrics": metrics(idx)})  # fmt: skip
    big = [x for x in over_time if x["rows"] >= MIN_BUCKET_LABELS]
    return {
        "task": task,
        "labelled_rows": len(y_true),
        "metrics": metrics(everything),
        "over_time": over_time,
        "first": big[0] if big else None,
        "latest": big[-1] if big else None,
    }
