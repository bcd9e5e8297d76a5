"""Reads a `weightlab spectrum` fleet dataset as one table and compares it with single `spectrum` runs.

usage: fleet_spectrum_check.py DATASET SINGLES.json
         DATASET: the fleet dataset (hive partitions model, step); SINGLES.json: {checkpoint_uri: single run's --out}.
         Reads DATASET with pyarrow.parquet.read_table and, per checkpoint named in SINGLES.json, the single run's
         spectrum.parquet; every column of the single table but svd_seconds (a timing) must hold the same value in the
         fleet's row of the same matrix (float64 compared exactly, NaN equal to NaN), and the fleet's other columns
         must be null there. Prints JSON: rows, columns, (model, step, checkpoint_uri) partitions, rows per checkpoint,
         distinct file schemas, values compared, mismatches.
"""
import glob, json, math, os, sys

import pyarrow.parquet as pq

FLEET = {"model", "step", "checkpoint_uri", "checkpoint_key", "checkpoint_identity", "tags", "run_id"}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def main(dataset, singles_file):
    table = pq.read_table(dataset)
    rows = table.to_pylist()
    files = [f for f in glob.glob(os.path.join(dataset, "**", "*.parquet"), recursive=True) if "/_" not in f[len(dataset):]]
    schemas = {str(pq.read_schema(f)) for f in files}
    out = {"rows": len(rows), "columns": table.column_names, "files": len(files), "schemas": len(schemas),
           "partitions": sorted({(str(r["model"]), r["step"], r["checkpoint_uri"]) for r in rows}, key=str),
           "rows_per_checkpoint": {}, "compared_values": 0, "mismatches": []}
    by_uri = {}
    for r in rows:
        by_uri.setdefault(r["checkpoint_uri"], {})[r["name"]] = r
        out["rows_per_checkpoint"][r["checkpoint_uri"]] = out["rows_per_checkpoint"].get(r["checkpoint_uri"], 0) + 1
    with open(singles_file) as f:
        singles = json.load(f)
    for uri, single_out in singles.items():
        single = pq.read_table(os.path.join(single_out, "spectrum.parquet")).to_pylist()
        mine = by_uri.get(uri, {})
        if len(single) != len(mine):
            out["mismatches"].append([uri, "rows", len(single), len(mine)])
        for s in single:
            f = mine.get(s["name"])
            if f is None:
                out["mismatches"].append([uri, s["name"], "missing"])
                continue
            for k, v in s.items():
                if k == "svd_seconds":
                    continue
                out["compared_values"] += 1
                if k not in f or not same(v, f[k]):
                    out["mismatches"].append([uri, s["name"], k, repr(v), repr(f.get(k))])
            for k, v in f.items():
                if k not in s and k not in FLEET and v is not None:
                    out["mismatches"].append([uri, s["name"], k, "only in the fleet", repr(v)])
    print(json.dumps(out))


main(sys.argv[1], sys.argv[2])
