"""The references of bench/real-data.ts: scikit-learn's IsolationForest and River's HalfSpaceTrees
on a labelled CSV (`x0..xN,label`), with the protocol of `lookout eval --input`:

- Isolation Forest (scikit-learn defaults, random_state=SEED): trained on the first
  TRAIN_FRACTION of the rows, scores every row (the negated score_samples, higher = anomalous).
- Half-Space Trees (River, after an online MinMaxScaler, as River's documentation pairs them):
  every row is scored, then learned (score_one, then learn_one), in file order.

Prints one JSON line: {"file", "rows", "positives", "sklearn": {"rocAuc", "ap", "seconds"},
"river": {...}, "versions": {...}}. `--seeds N` also reports the forest's ROC-AUC over seeds
SEED..SEED+N-1 (min, mean, max), to show how much one seed moves it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import river
import sklearn
from river import anomaly, compose, preprocessing
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", required=True)
    parser.add_argument("--train-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--hst-trees", type=int, default=25)
    parser.add_argument("--hst-height", type=int, default=15)
    parser.add_argument("--hst-window", type=int, default=250)
    args = parser.parse_args()

    data = np.loadtxt(args.csv, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1].astype(int)
    train = int(len(x) * args.train_fraction)

    def forest(seed: int) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        model = IsolationForest(random_state=seed).fit(x[:train])
        return -model.score_samples(x), time.perf_counter() - started

    scores, seconds = forest(args.seed)
    result = {
        "file": args.csv,
        "rows": int(len(x)),
        "positives": int(y.sum()),
        "trainRows": train,
        "sklearn": {
            "rocAuc": float(roc_auc_score(y, scores)),
            "ap": float(average_precision_score(y, scores)),
            "seconds": seconds,
        },
    }
    if args.seeds > 1:
        aucs = [float(roc_auc_score(y, forest(args.seed + i)[0])) for i in range(args.seeds)]
        result["sklearn"]["seeds"] = {"n": args.seeds, "min": min(aucs), "mean": sum(aucs) / len(aucs), "max": max(aucs)}

    started = time.perf_counter()
    model = compose.Pipeline(
        preprocessing.MinMaxScaler(),
        anomaly.HalfSpaceTrees(
            n_trees=args.hst_trees, height=args.hst_height, window_size=args.hst_window, seed=args.seed
        ),
    )
    hst = np.empty(len(x))
    names = [f"x{i}" for i in range(x.shape[1])]
    for i, row in enumerate(x):
        features = dict(zip(names, row.tolist()))
        hst[i] = model.score_one(features)
        model.learn_one(features)
    result["river"] = {
        "rocAuc": float(roc_auc_score(y, hst)),
        "ap": float(average_precision_score(y, hst)),
        "seconds": time.perf_counter() - started,
    }
    result["versions"] = {"sklearn": sklearn.__version__, "river": river.__version__}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
