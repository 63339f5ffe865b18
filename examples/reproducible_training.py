"""A reproducible training run: scikit-learn on a dataset it ships, seeded, tracked.

    python examples/reproducible_training.py            # seed 42
    python examples/reproducible_training.py --seed 7
    shipyard runs manifest <run id>                     # what was recorded
    shipyard reproduce <run id> --reuse-env             # run it again and compare

``start_run`` records the run manifest (commit and diff, command, packages, platform, seeds) with
no further code; ``seed_everything`` seeds Python, NumPy and, when installed, PyTorch;
``log_dataset`` versions the train and test splits by content, with a profile of each
(``shipyard datasets show breast-cancer``, ``shipyard lineage <run id>``).
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

import shipyard


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=6)
    args = parser.parse_args(argv)

    seed = shipyard.seed_everything(args.seed)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)

    with shipyard.start_run(experiment="breast-cancer", name=f"rf-seed{seed}") as run:
        # versioned by content: the same split is the same version, a new split a new one
        run.log_dataset(X_train.assign(target=y_train), name="breast-cancer", role="train")
        run.log_dataset(X_test.assign(target=y_test), name="breast-cancer", role="test")
        run.log_params({"model": "random_forest", "trees": args.trees, "depth": args.depth, "seed": seed})
        model = RandomForestClassifier(n_estimators=args.trees, max_depth=args.depth, random_state=seed, n_jobs=1)
        model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)[:, 1]
        run.log_metrics(
            {
                "accuracy": accuracy_score(y_test, proba > 0.5),
                "roc_auc": roc_auc_score(y_test, proba),
                "log_loss": log_loss(y_test, proba),
            }
        )
    print(f"run {run.id}: roc_auc={roc_auc_score(y_test, proba):.4f}")
    return run.id


if __name__ == "__main__":
    main()
