"""What a finer judge of the top candidates would give: the packaged Gemma 3 270M as a reranker.

    python benchmarks/quality/sentence_lab.py record          # first: the tuning split's candidates
    python benchmarks/quality/upr_lab.py lovit 30 10          # corpus, questions, candidates reranked

Unsupervised passage reranking (Sachan et al. 2022, "UPR"): a language model scores each
candidate by the mean log-probability of the question's tokens after "Passage: ...\\nA question
this passage answers:", and that score is added to the fused one with a weight. The only LLM a
package ships here is Gemma 3 270M, a base model: it writes junk answers, but reading a question
as a continuation of a passage is what a base model does. The tuning split only (never the blind
set); the candidates and their grading come from sentence_lab.py's records.

Slow by construction: llama.cpp computes the logits of every position (`logits_all`), over a
262,144-word vocabulary, so each candidate costs ~2 s on 2 cores. Not shipped; the figures are
in benchmarks/quality/README.md ("Sentence-level evidence").
"""
from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import real_eval  # noqa: E402
from sentence_lab import OUT, evaluate  # noqa: E402


def main() -> None:
    import llama_cpp

    from embedsearch.answer.backends.llama import default_model_path

    corpus = sys.argv[1] if len(sys.argv) > 1 else "lovit"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    runs = [r for r in pickle.loads(OUT.read_bytes()) if r["id"].startswith(corpus)][:n]
    questions = {q.id: q for q in real_eval.load_questions()}
    llm = llama_cpp.Llama(model_path=str(default_model_path()), n_ctx=1024, logits_all=True, verbose=False,
                          n_threads=2)

    def logp(prefix: str, target: str) -> float:
        """Mean log-probability of `target`'s tokens after `prefix`."""
        head = llm.tokenize(prefix.encode(), add_bos=True)
        tail = llm.tokenize(target.encode(), add_bos=False)
        tokens = (head + tail)[-1000:]
        k = len(tail)
        llm.reset()
        llm.eval(tokens)
        logits = np.array(llm.scores[: len(tokens)])
        logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return float(sum(logp[len(tokens) - k - 1 + i, tokens[len(tokens) - k + i]] for i in range(k)) / k)

    started = time.time()
    for run in runs:
        question = questions[run["id"]].q
        for rank, cand in enumerate(run["cands"]):
            cand["upr"] = logp(f"Passage: {cand['text'][:1500]}\nA question this passage answers:",
                               " " + question) if rank < depth else None
    print(f"{len(runs)} {corpus} questions, top {depth} reranked, in {time.time() - started:.0f} s")
    print("today's fusion (hit@1, hit@5)", evaluate(runs, lambda c: c["fused"]))
    for w in (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 100.0):
        print(f"fused + {w} x log p(question | passage)",
              evaluate(runs, lambda c, w=w: c["fused"] + w * c["upr"] if c["upr"] is not None else c["fused"] - 1e9))


if __name__ == "__main__":
    main()
