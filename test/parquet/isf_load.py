"""Loads keys of a database the way Python ISF does, for test/parquet/python-interop.test.ts.

stdin: JSON {"frames": [[name, folder], ...], "dask": [[name, folder], ...], "msgpack": [[name, folder], ...]}.
stdout: one JSON object name -> what pandas / dask / msgpack returned (index, column labels with
their Python types, values as lists; NaN as "NaN"), and "__pandas_version__".

The dask load follows ISF's dask_to_parquet Loader: an empty meta DataFrame built from
object_meta.json's columns and dtypes (as read_object_meta does), then
dask.dataframe.from_delayed over one delayed pd.read_parquet per partition, then compute().
"""
import json, math, os, sys

import dask
import dask.dataframe
import msgpack
import numpy as np
import pandas as pd


def plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return "NaN" if math.isnan(v) else float(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def describe(df):
    return {
        "index": [plain(v) for v in df.index],
        "index_name": df.index.name,
        "columns": [[plain(c), type(c).__name__] for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "values": {str(c): [plain(v) for v in df[c].tolist()] for c in df.columns},
    }


def meta_of(folder):
    with open(os.path.join(folder, "object_meta.json")) as f:
        meta_json = json.load(f)
    meta = pd.DataFrame(
        {c: pd.Series([], dtype=t) for c, t in zip(meta_json["columns"], meta_json["dtypes"])},
        columns=meta_json["columns"],
    )
    # As read_object_meta: the labels get their original types through a numpy record.
    mapping = [(c, t if not t.startswith("<U") else "<U" + str(len(c))) for c, t in zip(meta.columns, meta_json["column_name_dtypes"])]
    meta.columns = tuple(np.array([tuple(meta.columns.values)], dtype=mapping)[0])
    return meta


@dask.delayed
def load_partition(path):
    return pd.read_parquet(path)


def main():
    # ISF's dask predates the conversion of object columns to pyarrow strings.
    dask.config.set({"dataframe.convert-string": False})
    jobs = json.loads(sys.stdin.read())
    out = {}
    for name, folder in jobs["frames"]:
        out[name] = describe(pd.read_parquet(os.path.join(folder, "pandas_to_parquet.parquet")))
    for name, folder in jobs["dask"]:
        files = sorted(f for f in os.listdir(folder) if f.startswith("pandas_to_parquet.") and f.endswith(".parquet"))
        n = int(files[0].split(".")[1])
        delayeds = [load_partition(os.path.join(folder, f"pandas_to_parquet.{n}.{i}.parquet")) for i in range(n)]
        with open(os.path.join(folder, "divisions.json")) as f:
            divisions = tuple(json.load(f))
        # ISF sets ddf.divisions afterwards; dask 2024+ has no setter, so they go in here.
        ddf = dask.dataframe.from_delayed(delayeds, meta=meta_of(folder), divisions=divisions, verify_meta=True)
        out[name] = describe(ddf.compute())
    for name, folder in jobs["msgpack"]:
        with open(os.path.join(folder, "to_pickle_dump"), "rb") as f:
            out[name] = msgpack.load(f)
    out["__pandas_version__"] = pd.__version__
    print(json.dumps(out))


main()
