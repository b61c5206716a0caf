"""`embedsearch mcp`: serve the index to AI agents over MCP (stdio)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .app import IndexOption, ModelOption, app, handle_errors, long_lived_process, note, open_index
from .ask import llm_option

HELP = "\n\n".join([
    "Serve the index to an AI agent (Claude Desktop, Claude Code, ...) as an MCP server over stdio.",
    "The agent starts this command itself and speaks MCP on its stdin and stdout; logs go to stderr. "
    "Tools: [bold]search[/] (passages for a query), [bold]get[/] (a document or a path:line range), "
    "[bold]ask[/] (an LLM's answer citing path:line) and [bold]status[/].",
    "`ask` uses the LLM chosen as for `embedsearch ask`: these options, else EMBEDSEARCH_LLM_* in the "
    "server's environment, else the config file; with none, it returns the retrieved passages.",
    "Claude Code: claude mcp add embedsearch -- embedsearch mcp --index PATH",
    "Over HTTP instead: `embedsearch serve` serves the same tools at /mcp.",
])


@app.command(help=HELP)
@handle_errors
def mcp(
    index: Optional[Path] = IndexOption,
    model: Optional[str] = ModelOption,
    llm_url: Optional[str] = llm_option("--llm-url", "url", "For ask: an OpenAI-compatible server, e.g. "
                                        "http://localhost:11434/v1."),
    llm_model: Optional[str] = llm_option("--llm-model", "model", "For ask: the model on the server, or a .gguf "
                                          "file to run in-process."),
    llm_backend: Optional[str] = llm_option("--llm-backend", "backend", "For ask: auto, openai, llama or none."),
) -> None:
    import logging

    long_lived_process()
    logging.basicConfig(level=logging.WARNING, format="embedsearch mcp: %(levelname)s %(name)s: %(message)s")
    from .. import operations as ops
    from ..mcp_server import run_stdio

    # Resolved once, flags over the environment over the config file (a bad setting fails now).
    llm = ops.llm_config(url=llm_url, model=llm_model, backend=llm_backend)
    with open_index(index, model, long_lived=True) as ix:
        if not ix.exists():
            note(f"embedsearch mcp: no index at {ix.path} yet; the tools will say so until "
                 "`embedsearch index FOLDER` builds one.")
        run_stdio(ix, llm=llm)
