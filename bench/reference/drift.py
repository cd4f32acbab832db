"""River reference for bench/drift-reference.ts.

Reads a plan (JSON) naming stream files and detector configurations, runs River's DDM,
ADWIN and PageHinkley over each stream and prints, as JSON on stdout, the indices where
each detector signalled a drift or a warning, plus River's update throughput.

Usage: bench/.venv/bin/python bench/reference/drift.py PLAN.json
"""

from __future__ import annotations

import json
import sys
import time

import river
from river import drift

# camelCase options of the TypeScript detectors -> River keyword arguments
OPTION_NAMES = {
    "warmStart": "warm_start",
    "warningThreshold": "warning_threshold",
    "driftThreshold": "drift_threshold",
    "delta": "delta",
    "clock": "clock",
    "maxBuckets": "max_buckets",
    "minWindowLength": "min_window_length",
    "gracePeriod": "grace_period",
    "minInstances": "min_instances",
    "threshold": "threshold",
    "alpha": "alpha",
    "mode": "mode",
}

FACTORIES = {
    "ddm": drift.binary.DDM,
    "adwin": drift.ADWIN,
    "page-hinkley": drift.PageHinkley,
}


def build(spec: dict):
    options = {OPTION_NAMES[key]: value for key, value in spec.get("options", {}).items()}
    return FACTORIES[spec["type"]](**options)


def read_stream(path: str, binary: bool) -> list:
    with open(path) as handle:
        values = [float(line) for line in handle if line.strip()]
    return [value == 1.0 for value in values] if binary else values


def run(spec: dict, values: list) -> dict:
    detector = build(spec)
    drifts, warnings = [], []
    has_warning = hasattr(detector, "warning_detected")
    for index, value in enumerate(values):
        detector.update(value)
        if detector.drift_detected:
            drifts.append(index)
        if has_warning and detector.warning_detected:
            warnings.append(index)
    return {"drifts": drifts, "warnings": warnings}


def throughput(spec: dict, values: list, seconds: float = 0.5) -> float:
    # a fresh detector per pass, as the TypeScript side does
    count = 0
    start = time.perf_counter()
    while True:
        detector = build(spec)
        for value in values:
            detector.update(value)
        count += len(values)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def main() -> None:
    with open(sys.argv[1]) as handle:
        plan = json.load(handle)
    results = []
    for case in plan["cases"]:
        values = read_stream(case["file"], case["binary"])
        result = run(case["detector"], values)
        result["id"] = case["id"]
        results.append(result)
    speeds = {}
    for case in plan.get("throughput", []):
        values = read_stream(case["file"], case["binary"])
        speeds[case["id"]] = throughput(case["detector"], values)
    json.dump({"river": river.__version__, "results": results, "throughput": speeds}, sys.stdout)


if __name__ == "__main__":
    main()
