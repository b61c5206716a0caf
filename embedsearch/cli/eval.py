"""`embedsearch eval DATASET_DIR`: retrieval quality and latency on a BEIR-format data set."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .app import JsonOption, ModeOption, ModelOption, app, console, err_console, handle_errors, print_json, want_json

if TYPE_CHECKING:
    from ..operations import EvalResult

PHASES = {"scan": "Reading corpus", "query": "Searching"}


@app.command("eval")
@handle_errors
def eval_(
    dataset: Path = typer.Argument(
        ..., help="A BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.", exists=True, file_okay=False
    ),
    k: int = typer.Option(10, "-k", min=1, help="Also report nDCG@k and Recall@k (100 results are always fetched)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Only the first N queries, for a quick run."),
    index: Optional[Path] = typer.Option(
        None, "--index", help="Index directory for the corpus. Default: a cache keyed by corpus and model, reused."
    ),
    model: Optional[str] = ModelOption,
    mode: Optional[str] = ModeOption,
    json_: bool = JsonOption,
) -> None:
    """Score retrieval on a BEIR data set: nDCG@10, MRR@10, Recall@1/5/10/100, latency.

    The corpus is indexed as `embedsearch index` would (a document scores by its best passage) and the index is cached, so a second run only searches.
    """
    from .. import operations as ops
    from .index import progress_bar

    as_json = want_json(json_)
    bar, progress = progress_bar(disable=not err_console.is_terminal, phases=PHASES)
    with bar:
        settings = ops.Settings.resolve(model=model)
        result = ops.run_eval(dataset, model=model, index_path=index, k=k, limit=limit, mode=mode, progress=progress,
                     engine=settings.engine)
    if as_json:
        print_json(result.to_dict())
        return
    render(result)


def render(result: "EvalResult") -> None:
    from rich.table import Table

    table = Table(title=f"{result.dataset}: {result.queries:,} queries, {result.documents:,} documents "
                        f"({result.chunks:,} passages), {result.mode} search", title_justify="left")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for name, value in result.metrics.items():
        label = name.replace("ndcg", "nDCG").replace("mrr", "MRR").replace("recall", "Recall")
        table.add_row(label, f"{value:.4f}")
    table.add_row("Latency p50", f"{result.latency['p50_ms']:.1f} ms")
    table.add_row("Latency p95", f"{result.latency['p95_ms']:.1f} ms")
    console.print(table)
    how = "reused" if result.index_reused else f"updated in {result.index_seconds:.1f} s"
    err_console.print(f"Model {result.model}; index {how}: {result.index}", highlight=False, soft_wrap=True)
