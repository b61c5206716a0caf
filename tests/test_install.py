"""What a fresh install gets: the README's install commands are the ones CI runs, and a reader
whose library cannot be imported costs its own files only (one line), never the run."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import write

ROOT = Path(__file__).resolve().parents[1]

# lxml 5.2+ moved lxml.html.clean out to lxml_html_clean; without it justext (under trafilatura)
# fails at import with "lxml.html.clean module is now a separate project lxml_html_clean". This
# blocks the module as a fresh install with the venv's bundled pip did, then runs the real CLI.
BLOCKED_RUN = """
import sys
sys.modules["lxml_html_clean"] = None
from embedsearch._entry import main
sys.argv = ["embedsearch", *sys.argv[1:]]
main()
"""


def test_a_missing_html_library_skips_html_files_in_one_line_and_indexes_the_rest(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    for n in range(3):
        write(posts / f"page{n}.html", f"<html><body><article><h1>Page {n}</h1><p>{'본문 문장입니다. ' * 20}</p>"
                                       f"</article></body></html>")
    write(posts / "note.md", "# 노트\n\n마크다운 글은 그대로 색인된다. 한국어 문장이 들어 있다.\n")
    write(posts / "plain.txt", "A plain text note about sourdough starters and their feeding schedule.\n")
    result = subprocess.run([sys.executable, "-c", BLOCKED_RUN, "index", str(posts), "--index", str(tmp_path / "ix"),
                             "--json"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("Skipped")]
    assert len(skipped) == 1, result.stderr
    assert re.match(r"Skipped 3 \.html files: trafilatura could not be imported \(.*lxml_html_clean", skipped[0])
    report = json.loads(result.stdout)
    assert report["new"] == 2 and len(report["skipped"]) == 3


def test_html_pages_read_with_the_installed_libraries(tmp_path: Path) -> None:
    """The same pages without the block: the dependency the install declares is there."""
    from embedsearch import files

    page = write(tmp_path / "p.html", "<html><body><article><h1>Title</h1><p>" + "Some real text here. " * 20
                 + "</p></article></body></html>")
    (document, paragraphs), = files.read_documents(page)
    assert paragraphs and "Some real text" in paragraphs[0].text


def test_pyproject_declares_lxml_html_clean() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^\s*"lxml_html_clean[>=<]', text, re.M)


def test_ci_installs_exactly_as_the_readme_says() -> None:
    """CI ran `pip install --upgrade pip` first and so never saw what the venv's own pip does."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv") and "pytest" in line]
    assert len(commands) == 1
    readme_steps = [step.strip() for step in commands[0].split("&&") if "pip" in step or "venv" in step]
    ci_steps = [line.strip() for line in ci.splitlines()
                if re.match(r"\s*(python3 -m venv|\. \.venv|pip |python -m pip )", line) and "--force-reinstall" not in line]
    assert ci_steps == readme_steps
    assert not [line for line in ci.splitlines() if "--upgrade" in line and not line.lstrip().startswith("#")]
