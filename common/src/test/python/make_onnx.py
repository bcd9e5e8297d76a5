"""Builds a small ONNX model exercising the importer's cases and the safetensors file it must become.
  make_onnx.py DIR [--escape] -> DIR/model.onnx, DIR/weights.bin (external data), DIR/expected.safetensors
Cases: anonymous MatMul weight (transposed, named after its node), Gemm transB=1 (kept) and transB=0
(transposed), float_data and int32_data (F16) typed payloads, an INT8 quantized weight with _scale and
_zero_point companions, external data, and a named initializer kept as is. With --escape the external
data location points outside DIR, which the importer must refuse."""
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from safetensors.numpy import save_file

d = sys.argv[1]
rng = np.random.default_rng(3)
w_mm = rng.standard_normal((4, 6)).astype(np.float32)          # [in, out] for MatMul
w_gemm_t = rng.standard_normal((5, 6)).astype(np.float32)      # Gemm transB=1: [out, in]
w_gemm_n = rng.standard_normal((6, 3)).astype(np.float32)      # Gemm transB=0: [in, out]
bias = rng.standard_normal(5).astype(np.float32)
half = rng.standard_normal(7).astype(np.float16)
q = rng.integers(-128, 128, size=(6, 2), dtype=np.int8)         # quantized MatMul weight, [in, out]
q_scale = rng.random(2).astype(np.float32)
q_zp = np.zeros(2, dtype=np.int8)
ext = rng.standard_normal((3, 4)).astype(np.float32)            # external data, named

inits = [
    numpy_helper.from_array(w_mm, "onnx::MatMul_10"),
    numpy_helper.from_array(w_gemm_t, "onnx::Gemm_11"),
    numpy_helper.from_array(w_gemm_n, "onnx::Gemm_12"),
    helper.make_tensor("blocks.0.fc.bias", TensorProto.FLOAT, [5], bias.tolist()),          # float_data
    helper.make_tensor("extra.half", TensorProto.FLOAT16, [7], half.astype(np.float32).tolist(), raw=False),  # stored as uint16 bits in int32_data
    numpy_helper.from_array(q, "onnx::MatMul_13_quantized"),
    helper.make_tensor("onnx::MatMul_13_scale", TensorProto.FLOAT, [2], q_scale.tolist()),
    helper.make_tensor("onnx::MatMul_13_zero_point", TensorProto.INT8, [2], q_zp.tolist()),
]
ext_t = numpy_helper.from_array(ext, "side.table.weight")
ext.tofile(os.path.join(d, "weights.bin"))
ext_t.ClearField("raw_data")
ext_t.data_location = TensorProto.EXTERNAL
location = "../weights.bin" if "--escape" in sys.argv else "weights.bin"
for k, v in (("location", location), ("offset", "0"), ("length", str(ext.nbytes))):
    e = ext_t.external_data.add(); e.key = k; e.value = v
inits.append(ext_t)

nodes = [
    helper.make_node("MatMul", ["x", "onnx::MatMul_10"], ["h1"], name="/blocks.0/attn/q/MatMul"),
    helper.make_node("Gemm", ["h1", "onnx::Gemm_11", "blocks.0.fc.bias"], ["h2"], name="/blocks.0/fc/Gemm", transB=1),
    helper.make_node("Gemm", ["h2b", "onnx::Gemm_12"], ["h3"], name="/blocks.0/proj/Gemm", transB=0),
    helper.make_node("MatMulInteger", ["xq", "onnx::MatMul_13_quantized", "xzp", "onnx::MatMul_13_zero_point"], ["h4"], name="/blocks.1/mlp/down/MatMul_quant"),
    helper.make_node("Mul", ["h4", "onnx::MatMul_13_scale"], ["h5"], name="/blocks.1/mlp/down/MatMul_quant_scales_mul"),
    helper.make_node("Add", ["h5", "extra.half"], ["h6"], name="/extra/Add"),
    helper.make_node("Gather", ["side.table.weight", "ids"], ["h7"], name="/side/Gather"),
]
graph = helper.make_graph(nodes, "g", [], [], initializer=inits)
model = helper.make_model(graph, producer_name="weightlab-test")
onnx.save_model(model, os.path.join(d, "model.onnx"), save_as_external_data=False)

expected = {
    "blocks.0.attn.q.weight": np.ascontiguousarray(w_mm.T),
    "blocks.0.fc.weight": w_gemm_t,
    "blocks.0.fc.bias": bias,
    "blocks.0.proj.weight": np.ascontiguousarray(w_gemm_n.T),
    "extra.half": half,
    "blocks.1.mlp.down.weight": np.ascontiguousarray(q.T),
    "blocks.1.mlp.down.weight_scale": q_scale,
    "blocks.1.mlp.down.weight_zero_point": q_zp,
    "side.table.weight": ext,
}
save_file(expected, os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
print(len(expected))
