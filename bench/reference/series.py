"""Reference detector for bench/series-detectors.ts: rolling median / MAD on past values only.

    python series.py IN.json OUT.json

IN.json is a list of {"t": [...], "v": [...]}; OUT.json gets one list of scores per series,
with the same robust z -> score map as Lookout (z = 4.5 -> 0.5) so one threshold applies.
A classic, well-understood streaming baseline (Hampel filter) in numpy only.
"""

import json
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WINDOW = 100
Z_HALF = 4.5


def score(values: np.ndarray) -> np.ndarray:
    n = len(values)
    scores = np.zeros(n)
    if n <= 10:
        return scores
    # past-only windows: scores[i] uses values[max(0, i - WINDOW):i]
    padded = np.concatenate([np.full(WINDOW - 1, np.nan), values[:-1]])
    windows = sliding_window_view(padded, WINDOW)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            median = np.nanmedian(windows, axis=1)
            mad = np.nanmedian(np.abs(windows - median[:, None]), axis=1) * 1.4826
        deviation = np.abs(values[1:] - median)
        z = np.where(mad > 0, deviation / mad, np.where(deviation > 0, np.inf, 0.0))
        s = 1.0 - np.power(2.0, -np.power(z / Z_HALF, 4))
    s = np.nan_to_num(s, nan=0.0, posinf=1.0)
    s[:9] = 0.0  # fewer than 10 past values
    scores[1:] = s
    return scores


def main() -> None:
    with open(sys.argv[1]) as f:
        series = json.load(f)
    out = [score(np.asarray(s["v"], dtype=float)).tolist() for s in series]
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
