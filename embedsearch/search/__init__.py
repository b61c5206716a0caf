"""Stage 5: a query -> ranked passages, by meaning (dense), by words (lexical), or both (hybrid)."""
from __future__ import annotations

MODES = ("hybrid", "dense", "lexical")
DEFAULT_MODE = "hybrid"  # the best measured on every query set (README, "Retrieval quality")

# How many candidates each retriever hands to the fusion: enough that a passage ranked low by
# one method but high by the other still meets the fusion.
HYBRID_CANDIDATES = 50

# One limit on k for every front end (the CLI, HTTP, MCP and the Python API): hybrid search
# fuses each retriever's top 50 (HYBRID_CANDIDATES), so past 100 the list is mostly one
# retriever's order; more floods an agent's context or a page for no gain. Evaluation's
# Recall@100 is the deepest use.
MAX_K = 100
KINDS = ("prose", "code")
