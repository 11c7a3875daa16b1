"""Expected values of Parquet files, read by pyarrow, for test/parquet/fixtures.test.ts.

Reads a JSON list of paths on stdin; prints one JSON object: path -> {"rows": [[cell, ...], ...],
"columns": [...]} or {"error": "..."}. Cells are normalised the way the test normalises ours
(see sameCell() there): exact ints, floats by repr, decimals as text, bytes as hex, times as
epoch ms.
"""
import base64, datetime, decimal, json, math, sys

import pyarrow.parquet as pq


EPOCH = datetime.datetime(1970, 1, 1)


def norm(v):
    """Typed cells: {"i": exact int}, {"f": repr of a float}, {"d": decimal text}, {"t": epoch ms}."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": "NaN" if math.isnan(v) else repr(v)}
    if isinstance(v, decimal.Decimal):
        return {"d": str(v)}
    if isinstance(v, str):
        return v
    if isinstance(v, (bytes, bytearray)):
        return "hex:" + bytes(v).hex()
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return {"t": repr((v - EPOCH) / datetime.timedelta(milliseconds=1))}
    if isinstance(v, datetime.date):
        return {"t": repr(float((v - EPOCH.date()).days * 86400000))}
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(e) for e in v]
    return str(v)


out = {}
for path in json.loads(sys.stdin.read()):
    try:
        table = pq.read_table(path)
        out[path] = {"columns": table.column_names, "rows": [[norm(c) for c in row.values()] for row in table.to_pylist()]}
    except Exception as e:  # noqa: BLE001 - the test reports what pyarrow said
        out[path] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
