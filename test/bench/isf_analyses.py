"""ISF's analyses in pandas, written from ISF's definitions (data_base.analyze.temporal_binning,
db_initializers.synapse_activation_binning), as the baseline of `npm run bench --only=query` and
the oracle of test/analyses. Reads Parquet files (one key's partitions, concatenated per
partition as ISF's dask graph would see them).

usage: isf_analyses.py temporal <json args>    -> {"seconds", "borders", "counts"}
       isf_analyses.py synapse <json args>     -> {"seconds", "groups": {name: [[...]]}, "trials"}
args: {"files": [...], "bin_size", "min_time", "max_time", "normalize", "rate", "reps"} (median of reps) or
      {"files": [...], "groupby": [...], "maxtime"}; "summary": true prints sums instead of arrays.
"""
import json
import sys
import time

import numpy as np
import pandas as pd

EXCITATORY = ["L1", "L2", "L34", "L4py", "L4sp", "L4ss", "L5st", "L5tt", "L6cc", "L6ccinv", "L6ct", "VPM"]


def is_int(x):
    try:
        int(x)
        return True
    except (TypeError, ValueError):
        return False


def time_list(df):
    columns = [c for c in df.columns if is_int(c)]
    if not columns:
        return np.array([])
    return pd.concat([df[c].dropna() for c in columns]).values


def temporal_binning_pd(df, bin_size=1, min_time=None, max_time=None, normalize=True, rate=False):
    times = time_list(df)
    if min_time is None:
        min_time = min(times)
    if max_time is None:
        max_time = max(times)
    borders = np.arange(min_time, max_time + bin_size, bin_size)
    data = np.histogram(times, borders)[0]
    if normalize:
        data = data / float(len(df))
    if rate:
        data = data / np.diff(borders)
    return borders, data


def prefun(df):
    parts = df.synapse_type.str.split("_")
    df["celltype"] = parts.str[0]
    df["presynaptic_column"] = parts.str[1]
    df["proximal"] = np.where(df.soma_distance < 500, "prox", "dist")
    df["EI"] = np.where(df["celltype"].isin(EXCITATORY), "EXC", "INH")
    bins = np.floor(df.soma_distance / 50).astype(int)
    df["binned_somadist"] = [f"{x * 50}to{x * 50 + 50}" for x in bins]
    return df


def binning_partition(pdf, groupby, maxtime):
    pdf = prefun(pdf)
    applied = pdf.groupby([pdf.index] + groupby).apply(
        lambda g: temporal_binning_pd(g, min_time=0, max_time=maxtime, bin_size=1, normalize=False)[1])
    for _ in groupby:
        applied = applied.unstack(1)
    zeros = np.zeros((maxtime,))
    out = {}
    for key in applied.columns:
        column = applied[key].map(lambda x: zeros if (isinstance(x, float) and np.isnan(x)) or x is None else x)
        out[key if isinstance(key, tuple) else (key,)] = np.vstack(column.values)
    return out, list(applied.index)


def synapse_activation_binning(frames, groupby, maxtime):
    results = [binning_partition(df, groupby, maxtime) for df in frames]
    keys = sorted({k for d, _ in results for k in d})
    merged = {}
    for key in keys:
        merged[key] = np.vstack([d[key] if key in d else np.zeros((len(trials), maxtime)) for d, trials in results])
    return merged, [t for _, trials in results for t in trials]


def main():
    mode, args = sys.argv[1], json.loads(sys.argv[2])
    frames = [pd.read_parquet(f) for f in args["files"]]
    started = time.perf_counter()
    if mode == "temporal":
        df = pd.concat(frames) if len(frames) > 1 else frames[0]
        timings = []
        cpu = []
        for _ in range(args.get("reps", 1)):
            started = time.perf_counter()
            cpu_started = time.process_time()
            borders, counts = temporal_binning_pd(df, args.get("bin_size", 1), args.get("min_time"), args.get("max_time"),
                                                  args.get("normalize", True), args.get("rate", False))
            cpu.append(time.process_time() - cpu_started)
            timings.append(time.perf_counter() - started)
        seconds = sorted(timings)[len(timings) // 2]
        cpu_seconds = sorted(cpu)[len(cpu) // 2]
        out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "borders": borders.tolist(), "counts": counts.tolist()}
        if args.get("summary"):
            out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "bins": len(counts), "sum": float(np.sum(counts))}
    else:
        merged, trials = synapse_activation_binning(frames, args["groupby"], args["maxtime"])
        seconds = time.perf_counter() - started
        if args.get("summary"):
            out = {"seconds": seconds, "groups": {"__".join(k): float(v.sum()) for k, v in merged.items()}, "trials": len(trials)}
        else:
            out = {"seconds": seconds, "groups": {"__".join(k): v.tolist() for k, v in merged.items()}, "trials": [str(t) for t in trials]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
