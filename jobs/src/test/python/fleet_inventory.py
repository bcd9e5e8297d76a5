"""A small fleet of checkpoints of different dtypes and shapes for the fleet inspect test, and its independent check.

usage: fleet_inventory.py make ROOT
         ROOT/runs/a/checkpoint-100  model.safetensors (safetensors.numpy): F32, F16, I64, a 0-d F32 scalar
         ROOT/runs/a/checkpoint-200  model.safetensors written byte by byte: BF16, F32, other shapes, an extra tensor
         ROOT/runs/b/checkpoint-100  model.safetensors written byte by byte: an MoE block (experts), F8_E4M3, U8, I32
         ROOT/runs/b/checkpoint-200  two shards and model.safetensors.index.json, written byte by byte
       fleet_inventory.py more ROOT   ROOT/runs/a/checkpoint-300 and ROOT/runs/c/checkpoint-100 (for --append)
       fleet_inventory.py check DATASET SINGLES.json
         Reads DATASET with pyarrow.dataset (hive partitioning) as one table. Per checkpoint named in SINGLES.json
         ({checkpoint_uri: the --out of a single `inspect --format parquet` run on it}): the fleet's rows, in order, must
         equal the single run's inspect.parquet rows in every column, and name, dtype, shape, parameters, bytes and
         shard must equal what the checkpoint's own header bytes say (parsed here, not by safetensors or WeightLab).
         Prints JSON: rows, columns, partitions [model, step], rows per checkpoint, files, distinct file schemas,
         values compared, mismatches.
"""
import glob, json, math, os, struct, sys

import numpy as np

INVENTORY = ["name", "dtype", "shape", "parameters", "bytes", "shard", "stack", "layer", "expert", "module_kind", "role", "param"]
SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def write_raw(path, tensors, metadata=None):
    """tensors: [(name, dtype, shape)], data random bytes; the header as the safetensors format lays it out."""
    rng = np.random.default_rng(len(path))
    header, blobs, offset = {}, [], 0
    for name, dtype, shape in tensors:
        n = SIZE[dtype] * int(np.prod(shape, dtype=np.int64))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        blobs.append(rng.integers(0, 60, n, dtype=np.uint8).tobytes())  # small bytes: no NaN patterns needed, headers only
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make(root):
    from safetensors.numpy import save_file
    rng = np.random.default_rng(3)
    d = os.path.join(root, "runs", "a", "checkpoint-100")
    os.makedirs(d, exist_ok=True)
    save_file({"model.embed_tokens.weight": rng.standard_normal((40, 16)).astype(np.float32),
               "model.layers.0.self_attn.q_proj.weight": rng.standard_normal((16, 16)).astype(np.float32),
               "model.layers.0.mlp.down_proj.weight": rng.standard_normal((16, 32)).astype(np.float16),
               "model.layers.0.self_attn.rotary_emb.inv_freq": np.arange(8, dtype=np.int64),
               "model.norm.weight": np.ones(16, dtype=np.float32),
               "logit_scale": np.array(2.5, dtype=np.float32)}, os.path.join(d, "model.safetensors"))
    write_raw(os.path.join(root, "runs", "a", "checkpoint-200", "model.safetensors"), [
        ("model.embed_tokens.weight", "BF16", (40, 24)),
        ("model.layers.0.self_attn.q_proj.weight", "BF16", (24, 24)),
        ("model.layers.0.self_attn.q_proj.bias", "F32", (24,)),
        ("model.layers.1.self_attn.k_proj.weight", "F32", (8, 24)),
        ("model.layers.1.mlp.down_proj.weight", "BF16", (24, 48)),
        ("model.norm.weight", "F32", (24,))], {"format": "pt"})
    write_raw(os.path.join(root, "runs", "b", "checkpoint-100", "model.safetensors"), [
        ("model.layers.0.block_sparse_moe.gate.weight", "F32", (4, 16)),
        ("model.layers.0.block_sparse_moe.experts.0.w1.weight", "F8_E4M3", (32, 16)),
        ("model.layers.0.block_sparse_moe.experts.3.w2.weight", "F8_E4M3", (16, 32)),
        ("model.layers.0.block_sparse_moe.experts.3.w2.weight_scale", "F32", (1,)),
        ("model.vision_tower.encoder.layers.2.attn.qkv.weight", "U8", (48, 16)),
        ("model.position_ids", "I32", (1, 64))])
    shards = {"model-00001-of-00002.safetensors": [("model.embed_tokens.weight", "F16", (50, 8)),
                                                   ("model.layers.0.mlp.up_proj.weight", "F16", (32, 8))],
              "model-00002-of-00002.safetensors": [("model.layers.0.mlp.gate_proj.weight", "F32", (32, 8)),
                                                   ("lm_head.weight", "F16", (50, 8))]}
    d = os.path.join(root, "runs", "b", "checkpoint-200")
    weight_map = {}
    for f, ts in shards.items():
        write_raw(os.path.join(d, f), ts)
        weight_map.update({t[0]: f for t in ts})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


def more(root):
    write_raw(os.path.join(root, "runs", "a", "checkpoint-300", "model.safetensors"), [
        ("model.layers.0.self_attn.q_proj.weight", "F16", (24, 24)), ("model.norm.weight", "F64", (24,))])
    write_raw(os.path.join(root, "runs", "c", "checkpoint-100", "model.safetensors"), [
        ("transformer.h.0.attn.c_attn.weight", "F32", (8, 24)), ("transformer.wte.weight", "I16", (30, 8))])


def header_rows(uri):
    """{name: the columns a header gives} of a checkpoint URI (file, directory or index), from the header bytes."""
    path = uri[len("file:"):] if uri.startswith("file:") else uri
    while path.startswith("//"):
        path = path[1:]
    if os.path.isdir(path):
        idx = glob.glob(os.path.join(path, "*.index.json"))
        path = idx[0] if idx else glob.glob(os.path.join(path, "*.safetensors"))[0]
    files = [path]
    if path.endswith(".index.json"):
        with open(path) as f:
            files = sorted({os.path.join(os.path.dirname(path), v) for v in json.load(f)["weight_map"].values()})
    out = {}
    for file in files:
        with open(file, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        for name, t in header.items():
            if name == "__metadata__":
                continue
            b, e = t["data_offsets"]
            out[name] = {"name": name, "dtype": t["dtype"], "shape": t["shape"], "parameters": math.prod(t["shape"]),
                         "bytes": e - b, "shard": os.path.basename(file)}
    return out


def check(dataset, singles_file):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    table = ds.dataset(dataset, format="parquet", partitioning="hive").to_table()
    rows = table.to_pylist()
    files = [f for f in glob.glob(os.path.join(dataset, "**", "*.parquet"), recursive=True) if "/_" not in f[len(dataset):]]
    out = {"rows": len(rows), "columns": table.column_names, "files": len(files),
           "schemas": len({str(pq.read_schema(f)) for f in files}),
           "partitions": sorted({(str(r["model"]), r["step"]) for r in rows}, key=str),
           "rows_per_checkpoint": {}, "compared_values": 0, "mismatches": []}
    by_uri = {}
    for r in rows:
        by_uri.setdefault(r["checkpoint_uri"], []).append(r)
    out["rows_per_checkpoint"] = {u: len(v) for u, v in by_uri.items()}
    with open(singles_file) as f:
        singles = json.load(f)
    for uri, single_out in singles.items():
        mine = by_uri.get(uri, [])
        single_table = pq.read_table(os.path.join(single_out, "inspect.parquet"))
        single = single_table.to_pylist()
        for k in INVENTORY:  # same types, also for a column that is null in every row of the single run
            if k in single_table.column_names and str(single_table.schema.field(k).type) != str(table.schema.field(k).type):
                out["mismatches"].append([uri, "type of " + k, str(single_table.schema.field(k).type), str(table.schema.field(k).type)])
        if [r["name"] for r in single] != [r["name"] for r in mine]:
            out["mismatches"].append([uri, "tensor order", len(single), len(mine)])
        for s, f in zip(single, mine):
            if list(s.keys()) != INVENTORY:
                out["mismatches"].append([uri, "single columns", list(s.keys())])
            for k in INVENTORY:
                out["compared_values"] += 1
                if s.get(k) != f.get(k):
                    out["mismatches"].append([uri, s["name"], k, repr(s.get(k)), repr(f.get(k))])
        ref = header_rows(uri)
        if len(ref) != len(mine):
            out["mismatches"].append([uri, "header tensors", len(ref), len(mine)])
        for f in mine:
            want = ref.get(f["name"], {})
            for k, v in want.items():
                out["compared_values"] += 1
                if f.get(k) != v:
                    out["mismatches"].append([uri, f["name"], k, "header says", repr(v), repr(f.get(k))])
            if not want:
                out["mismatches"].append([uri, f["name"], "not in the header"])
    print(json.dumps(out))


if __name__ == "__main__":
    {"make": lambda: make(sys.argv[2]), "more": lambda: more(sys.argv[2]), "check": lambda: check(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
