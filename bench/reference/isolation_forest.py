"""scikit-learn reference for bench/detectors-isolation-forest.ts.

Reads train.csv / test.csv (features, test has a trailing `label` column) and ours.csv (our
scores on the test rows), trains IsolationForest(n_estimators=100, max_samples=256), and
prints one JSON object: sklearn's test scores, timings, and sklearn's own ROC-AUC / AP of
both score sets (a cross-check of the TypeScript metrics).
"""

import json
import statistics
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score


def main() -> None:
    directory, seed, single_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    train = np.loadtxt(f"{directory}/train.csv", delimiter=",", skiprows=1)
    test = np.loadtxt(f"{directory}/test.csv", delimiter=",", skiprows=1)
    ours = np.loadtxt(f"{directory}/ours.csv", delimiter=",", skiprows=1)
    x_test, labels = test[:, :-1], test[:, -1]

    start = time.perf_counter()
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(train)
    train_seconds = time.perf_counter() - start

    # score_samples is higher for normal points; negate to "higher = more anomalous".
    scores = -model.score_samples(x_test)

    batch = []
    for _ in range(5):
        start = time.perf_counter()
        model.score_samples(x_test)
        batch.append(len(x_test) / (time.perf_counter() - start))

    rows = x_test[:single_rows]
    single = []
    for _ in range(3):
        start = time.perf_counter()
        for i in range(len(rows)):
            model.score_samples(rows[i : i + 1])
        single.append(len(rows) / (time.perf_counter() - start))

    print(
        json.dumps(
            {
                "scores": scores.tolist(),
                "trainSeconds": train_seconds,
                "batchEventsPerSecond": statistics.median(batch),
                "singleEventsPerSecond": statistics.median(single),
                "sklearnRocAuc": {"sklearn": roc_auc_score(labels, scores), "ours": roc_auc_score(labels, ours)},
                "sklearnAveragePrecision": {
                    "sklearn": average_precision_score(labels, scores),
                    "ours": average_precision_score(labels, ours),
                },
                "version": __import__("sklearn").__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
