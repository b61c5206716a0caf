"""Jupyter notebooks: markdown cells as prose under their headings, code cells as code in the
kernel's language, text outputs as bounded code, images/HTML dropped, lines of the JSON file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedsearch import files


def notebook(cells: list[dict], language: str = "python") -> str:
    nb = {"cells": cells, "metadata": {"kernelspec": {"language": language, "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # as Jupyter saves


def md(*lines: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": [line + "\n" for line in lines[:-1]] + [lines[-1]]}


def code(source: str, outputs: list[dict] = ()) -> dict:
    parts = source.split("\n")
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": list(outputs),
            "source": [p + "\n" for p in parts[:-1]] + [parts[-1]]}


CELLS = [
    md("# LoRA 실험", "", "저랭크 어댑터로 적은 파라미터만 학습하는 과정을 정리한다."),
    md("## 학습 루프"),
    code("import torch\nmodel = load()\nprint(model.rank)",
         [{"output_type": "stream", "name": "stdout", "text": ["rank 8\n"]},
          {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo" * 50, "text/plain": ["<Figure>"]},
           "metadata": {}},
          {"output_type": "execute_result", "execution_count": 1, "metadata": {},
           "data": {"text/plain": [f"row {i}\n" for i in range(40)]}}]),
]


@pytest.fixture
def nb_path(tmp_path: Path) -> Path:
    path = tmp_path / "lora.ipynb"
    path.write_text(notebook(CELLS), encoding="utf-8")
    return path


def test_cells_become_prose_and_code_with_headings_and_language(nb_path: Path) -> None:
    (doc, paragraphs), = files.read_documents(nb_path)
    assert doc.title == "LoRA 실험"
    prose = [p for p in paragraphs if p.kind == "prose"]
    assert prose[0].text == "저랭크 어댑터로 적은 파라미터만 학습하는 과정을 정리한다."
    source = next(p for p in paragraphs if "import torch" in p.text)
    assert source.kind == "code" and source.language == "python"
    assert source.heading == "# LoRA 실험 > ## 학습 루프"
    outputs = [p for p in paragraphs if p.kind == "code" and p is not source]
    assert any(p.text == "rank 8" for p in outputs)
    assert all("iVBOR" not in p.text and "<Figure>" not in p.text for p in paragraphs)
    long = next(p for p in outputs if "row 0" in p.text)
    assert len(long.text.splitlines()) == 21 and long.text.endswith("(20 more lines)")


def test_lines_are_the_json_lines_of_the_cell_source(nb_path: Path) -> None:
    raw = nb_path.read_text(encoding="utf-8").split("\n")
    (_, paragraphs), = files.read_documents(nb_path)
    for p in paragraphs:
        first = p.text.splitlines()[0]
        assert json.dumps(first, ensure_ascii=False)[1:-1] in raw[p.line_start - 1], (p.text, raw[p.line_start - 1])
    source = next(p for p in paragraphs if "import torch" in p.text)
    assert '"print(model.rank)"' in raw[source.line_end - 1]


def test_malformed_json_is_one_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [ {"cell_type": "markdown", "source": ["# x"', encoding="utf-8")
    with pytest.raises(files.Skip, match="not a notebook: malformed JSON"):
        files.read_documents(path)


def test_a_single_string_source_and_another_kernel_language(tmp_path: Path) -> None:
    path = tmp_path / "r.ipynb"
    path.write_text(notebook([{"cell_type": "code", "metadata": {}, "outputs": [],
                                "source": "x <- c(1, 2, 3)\nmean(x)"}], language="R"), encoding="utf-8")
    (_, paragraphs), = files.read_documents(path)
    assert paragraphs[0].text == "x <- c(1, 2, 3)\nmean(x)" and paragraphs[0].language == "r"


def test_a_code_cell_and_its_output_are_one_passage_whose_lines_run_forward(nb_path: Path, tmp_path: Path) -> None:
    """Jupyter writes a cell's `outputs` above its `source`: the passage joining the two once ran
    from the source's first line back to the output's last (242-237 on a real notebook)."""
    from embedsearch import Index
    from embedsearch.chunks import make_chunks

    [(doc, paragraphs)] = files.read_documents(nb_path)
    chunks = make_chunks(paragraphs, lambda text: len(text.split()), title=doc.title)
    assert chunks and all(c.line_start <= c.line_end for c in chunks)
    with Index(tmp_path / "ix", model="fake") as ix:
        ix.add(nb_path.parent)
        hit = next(h for h in ix.search("print(model.rank)", k=5, mode="lexical") if "rank 8" in h.text)
        raw = nb_path.read_text(encoding="utf-8").split("\n")
        span = "\n".join(raw[hit.line_start - 1:hit.line_end])
        assert '"rank 8\\n"' in span and "print(model.rank)" in span  # the output's lines and the source's
        assert ix.get(nb_path.name, hit.line_start, hit.line_end).line_end == hit.line_end
