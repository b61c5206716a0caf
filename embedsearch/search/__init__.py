"""Stage 5: a query -> ranked passages, by meaning (dense), by words (lexical), or both (hybrid)."""
from __future__ import annotations

MODES = ("hybrid", "dense", "lexical")
DEFAULT_MODE = "hybrid"  # the best measured on every query set (README, "Retrieval quality")

# How many candidates each retriever hands to the fusion: enough that a passage ranked low by
# one method but high by the other still meets the fusion.
HYBRID_CANDIDATES = 50
