"""Peak memory while indexing one long document: the sentence vectors' hidden states must not pile up.

    python benchmarks/long_document_memory.py             # 400 passages of ~380 tokens in one file
    python benchmarks/long_document_memory.py --paragraphs 1000

A document's passages are embedded in one call (the indexer groups whole documents), and a
sentence's vector is pooled from its passage's last hidden states (vectors/onnx_e5.py). Held
until the call ends, those states grow with the document (512 x 384 floats a full passage); they
are pooled and let go as each passage finishes. Prints the peak RSS of a fresh `embedsearch
index` process (the kernel's ru_maxrss of the child) and the throughput it reported.

Measured 2026-12-06 (2 cores, load ~1): 400 passages, 336 MB with the states let go as each
passage finishes, 500 MB with them held to the end of the call, 329 MB before sentences had
vectors (9e773fa).
"""
from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = ("언어 모델 문장 토큰 검색 벡터 색인 질문 답변 글 블로그 예시 학습 데이터 결과 방법 정리 실험 "
         "성능 속도").split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paragraphs", type=int, default=400)
    args = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        posts = Path(tmp) / "posts"
        posts.mkdir()
        paragraphs = [" ".join(" ".join(rng.choice(WORDS) for _ in range(12)) + "다." for _ in range(14))
                      for _ in range(args.paragraphs)]
        (posts / "long.md").write_text("# 긴 글\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "embedsearch", "index", str(posts), "--index", str(Path(tmp) / "ix")],
                             capture_output=True, text=True)
        if run.returncode:
            sys.exit(run.stderr.strip())
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print((run.stdout + run.stderr).strip().splitlines()[-1])  # the summary line (stderr in a pipe)
        print(f"{args.paragraphs} passages in one document: peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
