"""River's HalfSpaceTrees on a CSV stream: the reference for bench/detectors-streaming.ts.

Reads rows `f0,...,fN,label`, runs score_one then learn_one on each row (prequential), times
it over a few repeats and prints one JSON line: {"events", "seconds", "cpuSeconds", "river"}.
Optionally writes the first repeat's scores (float64, little-endian) and the forest's
structure in Lookout's HalfSpaceTreesState format (masses zero), so that the TS side can
load River's exact trees and check that its scores are identical.

`--example` instead prints River's docstring example (5 trees, height 3, window 3, seed 42)
with its structure: the source of the golden test in test/core/anomaly/half-space-trees.test.ts.
"""

from __future__ import annotations

import argparse
import array
import csv
import json
import sys
import time

import river
from river import anomaly
from river.tree.padded import PaddedBranch


def structure(model: anomaly.HalfSpaceTrees, dimensions: int) -> dict:
    """The forest in heap order (node i -> children 2i+1, 2i+2), as Lookout's state."""
    features: list[int] = []
    thresholds: list[float] = []
    for root in model.trees:
        level = [root]
        for _ in range(model.height):
            nxt = []
            for node in level:
                assert isinstance(node, PaddedBranch)
                features.append(int(node.feature))
                thresholds.append(float(node.threshold))
                nxt.extend(node.children)
            level = nxt
    nodes = model.n_trees * (2 ** (model.height + 1) - 1)
    return {
        "type": "half-space-trees",
        "trees": model.n_trees,
        "height": model.height,
        "windowSize": model.window_size,
        "dimensions": dimensions,
        "featureNames": [f"x{i}" for i in range(dimensions)],
        "splitFeatures": features,
        "splitThresholds": thresholds,
        "latestMass": [0] * nodes,
        "referenceMass": [0] * nodes,
        "counter": 0,
        "firstWindow": True,
    }


def example() -> None:
    xs = [0.5, 0.45, 0.43, 0.44, 0.445, 0.45, 0.0]
    model = anomaly.HalfSpaceTrees(n_trees=5, height=3, window_size=3, seed=42)
    for x in xs[:3]:
        model.learn_one({0: x})
    # Structure is fixed once built; export before the scored loop is the same as after.
    forest = structure(model, 1)
    scores = []
    for x in xs:
        model.learn_one({0: x})
        scores.append(model.score_one({0: x}))
    json.dump({"river": river.__version__, "structure": forest, "scores": scores}, sys.stdout)
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv")
    parser.add_argument("--trees", type=int, default=10)
    parser.add_argument("--height", type=int, default=8)
    parser.add_argument("--window", type=int, default=250)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scores-out")
    parser.add_argument("--structure-out")
    parser.add_argument("--example", action="store_true")
    args = parser.parse_args()
    if args.example:
        example()
        return

    with open(args.csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        dimensions = len(header) - 1
        rows = [{i: float(v) for i, v in enumerate(row[:dimensions])} for row in reader]

    seconds = []
    cpu_seconds = []
    for repeat in range(args.repeats):
        model = anomaly.HalfSpaceTrees(
            n_trees=args.trees, height=args.height, window_size=args.window, seed=args.seed
        )
        scores = array.array("d")
        cpu_start = time.process_time()
        start = time.perf_counter()
        for x in rows:
            scores.append(model.score_one(x))
            model.learn_one(x)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        if repeat == 0:
            if args.scores_out:
                with open(args.scores_out, "wb") as out:
                    if sys.byteorder != "little":
                        scores.byteswap()
                    scores.tofile(out)
            if args.structure_out:
                with open(args.structure_out, "w") as out:
                    json.dump(structure(model, dimensions), out)
    print(
        json.dumps(
            {"events": len(rows), "seconds": seconds, "cpuSeconds": cpu_seconds, "river": river.__version__}
        )
    )


if __name__ == "__main__":
    main()
