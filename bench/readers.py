"""python -m bench.readers [--models gemma3-270m,qwen2.5-0.5b] [--runtimes llama.cpp,transformers,openvino]
                          [--runs 5] [--threads 2] [--prompt-tokens 700] [--new-tokens 32] [--out FILE]

Reader (local LLM) speed per model and runtime, each in a fresh process:
  load     constructing the generator (model files already assembled / converted: warm start)
  TTFT     prompt in -> first token out, on a ~700-token completion prompt (the four examples of
           qa.prompt + a news passage + a question), empty KV cache; p50 over --runs
  TTFT*    the same with the examples' tokens already in the KV cache (llama.cpp keeps it
           between calls): a different passage and question after the same examples
  tok/s    decoding speed after the first token ((tokens - 1) / (seconds - TTFT)), p50
Runtimes are those of qa.generators (openvino, llama.cpp, transformers), built directly (no
fallback), with the model files already assembled and converted (run once first to convert).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from eval.machine import Machine, machine_info

REPO = Path(__file__).resolve().parent.parent
ARTICLE = REPO / "examples" / "articles" / "home-office-rotherham-review.txt"
QUESTIONS = ["Which home secretary ordered the review?", "Who is the Rotherham Labour MP quoted in the article?"]


def make_prompts(count_tokens, target: int) -> list[str]:
    """Two ~target-token prompts sharing the few-shot examples, with different passages and questions."""
    from qa.prompt import completion_prompt

    def prompt(q, words):
        return completion_prompt(q, [SimpleNamespace(text=" ".join(words), number=1)])

    article = ARTICLE.read_text().split()
    out = []
    for i, q in enumerate(QUESTIONS):
        words = (article[i * 150:] + article[: i * 150]) * 2  # the second passage starts elsewhere
        lo, hi = 10, len(words)
        while lo < hi:  # the longest passage that keeps the prompt within the target
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if count_tokens(prompt(q, words[:mid])) <= target else (lo, mid - 1)
        out.append(prompt(q, words[:lo]))
    return out


def p50(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 4) if xs else None


# ---- one (model, runtime) in this process ----------------------------------------------------
def run_qa_runtime(model: str, runtime: str, runs: int, threads: int, target: int, new_tokens: int) -> dict:
    os.environ["QA_THREADS"] = str(threads)
    os.environ["HF_HUB_OFFLINE"] = "1"
    from qa.config import reload_env

    reload_env()  # the readers read $QA_THREADS from qa.config's record of the environment
    from qa.generators.factory import build, canonical

    name, fmt = canonical(model)
    from qa.generators.factory import model_path

    model_path(name, fmt)  # assemble/verify outside the timing
    conv = None
    if runtime in ("transformers", "openvino"):
        from qa.generators import hf, ov

        conv = ((hf if runtime == "transformers" else ov).converted_dir(Path(model_path(name, fmt))) / ".complete").exists()
    t0 = time.perf_counter()
    gen = build(name, fmt, runtime, threads=threads)
    load = time.perf_counter() - t0
    prompts = make_prompts(gen.count_tokens, target)

    def forget():  # an empty KV cache: no prefix reuse
        if hasattr(gen, "_cached"):
            gen._cached = []

    gen.complete(prompts[0], 4, stop=())  # warm-up, not counted
    ttft, tps, ttft_cached, texts = [], [], [], []
    for i in range(runs):
        forget()
        "".join(gen.stream(prompts[i % 2], new_tokens, stop=()))
        st = gen.last
        ttft.append(st.ttft_s)
        if len(st.tokens) > 1:
            tps.append((len(st.tokens) - 1) / max(1e-9, st.seconds - st.ttft_s))
        if runtime == "llama.cpp":  # prompt B after prompt A: the examples are cached
            forget()
            gen.complete(prompts[i % 2], 1, stop=())
            gen.complete(prompts[(i + 1) % 2], 1, stop=())
            ttft_cached.append(gen.last.ttft_s)
    for p in prompts:
        forget()
        texts.append(gen.complete(p, 16).strip())
    return {
        "model": name if "/" not in name else Path(name).name, "runtime": runtime, "threads": threads,
        "load_s": round(load, 3), "converted_before": conv, "prompt_tokens": [gen.count_tokens(p) for p in prompts],
        "ttft_s": p50(ttft), "ttft_cached_examples_s": p50(ttft_cached), "tokens_per_s": p50(tps),
        "ttft_all": [round(x, 4) for x in ttft], "tps_all": [round(x, 2) for x in tps], "answers": texts,
    }


# ---- the table ------------------------------------------------------------------------------
def table(rows: list[dict], machine: Machine) -> str:
    out = [f"CPU: {machine.label()}; threads = {rows[0]['threads'] if rows else '?'}", "",
           "| model | runtime | load (s) | prompt tokens | TTFT p50 (s) | TTFT, examples cached (s) | tokens/s p50 | answer |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("error"):
            out.append(f"| {r['model']} | {r['runtime']} | - | - | - | - | - | {r['error']} |")
            continue
        note = " (first start: converted)" if r.get("converted_before") is False else ""
        out.append(
            f"| {r['model']} | {r['runtime']}{note} | {r.get('load_s')} | {r.get('prompt_tokens', ['-'])[0]} | {r.get('ttft_s')} | "
            f"{r.get('ttft_cached_examples_s') or '-'} | {r.get('tokens_per_s') and round(r['tokens_per_s'], 1)} | "
            f"{(r.get('answers') or ['-'])[0][:40]} |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="gemma3-270m,qwen2.5-0.5b")
    ap.add_argument("--runtimes", default="llama.cpp,transformers,openvino")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=700)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    ap.add_argument("--one", nargs=2, metavar=("MODEL", "RUNTIME"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        model, rt = a.one
        try:
            row = run_qa_runtime(model, rt, a.runs, a.threads, a.prompt_tokens, a.new_tokens)
        except Exception as exc:
            row = {"model": model, "runtime": rt, "threads": a.threads, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        print("ROW " + json.dumps(row), flush=True)
        return 0
    machine = machine_info()
    print(machine.label(), flush=True)
    rows = []
    for model in a.models.split(","):
        for rt in a.runtimes.split(","):
            cmd = [sys.executable, "-m", "bench.readers", "--one", model, rt, "--runs", str(a.runs), "--threads", str(a.threads),
                   "--prompt-tokens", str(a.prompt_tokens), "--new-tokens", str(a.new_tokens)]
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            line = next((x for x in p.stdout.splitlines() if x.startswith("ROW ")), None)
            row = json.loads(line[4:]) if line else {"model": model, "runtime": rt, "threads": a.threads,
                                                     "error": (p.stderr or "no output").strip().splitlines()[-1][:200]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(table(rows, machine))
    if a.out:
        Path(a.out).write_text(json.dumps({"machine": dataclasses.asdict(machine), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
