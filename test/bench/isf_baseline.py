"""Baseline for `npm run bench`: parse a raw simrun campaign the way ISF does.

Voltage traces (somatic and dendritic) with numpy.loadtxt (whitespace-delimited, first line
skipped), synapse and presynaptic-cell files with pandas.read_csv (tab-separated, times as
one comma-separated string, then split into NaN-padded float columns, as ISF's reader does).
Prints one JSON line: {"seconds": ..., "bytes": ..., "parts": ...}.
Without pandas, only the voltage-trace part runs (reported in "parts").
"""
import json
import os
import sys
import time

import numpy as np

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None


def activations(path, fixed):
    df = pd.read_csv(path, sep="\t", skiprows=1, header=None, dtype={len(fixed): str})
    df.columns = fixed + ["times"]
    times = df["times"].fillna("").str.rstrip(",").str.split(",", expand=True)
    times = times.replace("", np.nan).astype(float)
    return pd.concat([df[fixed], times], axis=1)


def main(root):
    started = time.perf_counter()
    nbytes = 0
    parts = ["numpy.loadtxt voltage traces"]
    if pd is not None:
        parts.append("pandas.read_csv activations")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if "_running" not in d]
        if "_running" in dirpath:
            continue
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.endswith("_vm_all_traces.csv") or name.endswith("_vm_dend_traces.csv"):
                np.loadtxt(path, skiprows=1, unpack=True)
                nbytes += os.path.getsize(path)
            elif pd is not None and name.endswith("_synapses.csv"):
                activations(path, ["synapse_type", "synapse_ID", "soma_distance", "section_ID", "section_pt_ID", "dendrite_label"])
                nbytes += os.path.getsize(path)
            elif pd is not None and name.endswith("_presynaptic_cells.csv"):
                activations(path, ["presynaptic_cell_type", "cell_ID"])
                nbytes += os.path.getsize(path)
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": nbytes, "parts": parts, "pandas": pd is not None}))


if __name__ == "__main__":
    main(sys.argv[1])
