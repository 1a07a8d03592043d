"""The readers (qa.generators): their packaged model files, and every runtime
streaming greedy answers through one interface. Tests marked slow load real models."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from pathlib import Path

import pytest

from index import packaged
from qa.generators import (
    ChatTemplateError, GenerationStats, ModelFileError, QWEN25_05B, canonical, gguf_path, make_generator, weights,
)

PROMPT = "Context: The capital of Freedonia is Blorptown.\nQuestion: What is the capital of Freedonia?\nAnswer:"
HAVE = {
    "transformers": True,
    "llama.cpp": importlib.util.find_spec("llama_cpp") is not None,
    "openvino": importlib.util.find_spec("openvino_genai") is not None,
}
# (runtime, model) pairs that run; openvino-genai cannot read Gemma 3 GGUF files
PAIRS = [
    ("llama.cpp", "gemma3-270m"), ("llama.cpp", "qwen2.5-0.5b"), ("openvino", "qwen2.5-0.5b"),
    ("transformers", "gemma3-270m"),
]


def gen_for(runtime: str, model: str):
    if not HAVE[runtime]:
        pytest.skip(f"runtime {runtime} not installed")
    return make_generator(model, runtime)


def test_qwen_parts_are_located_without_importing_them():
    import sys

    paths = [packaged.locate_part(p) for p in QWEN25_05B.parts]
    assert sum(p.stat().st_size for p in paths) == QWEN25_05B.size == 491_400_064
    assert not any(p.module in sys.modules for p in QWEN25_05B.parts)


@pytest.mark.slow
def test_assembled_qwen_file_verifies():
    path = gguf_path("qwen2.5-0.5b")
    assert path.stat().st_size == QWEN25_05B.size
    assert packaged.sha256_file(path) == QWEN25_05B.sha256
    assert weights.gguf_architecture(path) == "qwen2"


def test_names_and_aliases():
    assert canonical("qwen") == ("qwen2.5-0.5b", "gguf")
    assert canonical(None) == ("qwen2.5-0.5b", "gguf")  # the default reader
    assert canonical("gemma")[0] == "gemma3-270m"
    assert canonical("smollm2")[0] == "smollm2-135m"
    with pytest.raises(ValueError, match="unknown generator"):
        canonical("no-such-model")
    with pytest.raises(FileNotFoundError):
        canonical("/nowhere/model.gguf")
    with pytest.raises(ValueError, match="unknown runtime"):
        make_generator("gemma3-270m", "tensorflow")


# ---- every runtime, real models -----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("runtime,model", PAIRS)
def test_streams_a_greedy_answer_and_fills_the_stats(runtime, model):
    gen = gen_for(runtime, model)
    assert gen.runtime == runtime and gen.context_length >= 2048
    deltas = list(gen.stream(PROMPT, 16))
    text = "".join(deltas)
    assert "Blorptown" in text and "\n" not in text
    st = gen.last
    assert isinstance(st, GenerationStats)
    assert st.text == text and st.stopped_by in ("stop", "eos")
    assert st.tokens and len(st.tokens) == len(st.logprobs)
    assert all(lp <= 1e-4 for lp in st.logprobs)
    assert 0 < len(st.first_top) <= 10
    assert max(st.first_top.values()) == pytest.approx(st.logprobs[0], abs=1e-3)  # greedy: the likeliest first
    assert 0 < st.ttft_s <= st.seconds
    assert st.prompt_tokens == gen.count_tokens(PROMPT) + (1 if gen.bos_id is not None else 0)
    # same prompt again (llama.cpp reuses its cache): same answer
    assert gen.complete(PROMPT, 16) == text


@pytest.mark.slow
@pytest.mark.parametrize("runtime,model", PAIRS)
def test_stop_strings_max_tokens_and_ban_first(runtime, model):
    gen = gen_for(runtime, model)
    full = gen.complete(PROMPT, 16)
    first = gen.last.tokens[0]
    out = gen.complete(PROMPT, 16, stop=("town",))
    assert "town" not in out and "Blorp" in out and gen.last.stopped_by == "stop"
    out = gen.complete(PROMPT, 3, stop=())
    assert len(gen.last.tokens) == 3 and gen.last.stopped_by == "max_tokens"
    assert full.startswith(out)
    gen.complete(PROMPT, 8, ban_first={first})
    assert gen.last.tokens and gen.last.tokens[0] != first


@pytest.mark.slow
@pytest.mark.parametrize("runtime,model", PAIRS)
def test_deadline_stops_generation(runtime, model):
    gen = gen_for(runtime, model)
    assert list(gen.stream(PROMPT, 16, deadline=time.monotonic() - 1)) == []
    assert gen.last.stopped_by == "deadline" and gen.last.tokens == []
    t0 = time.monotonic()
    text = gen.complete("Count from one to one thousand: one, two, three, four,", 5000, stop=(), deadline=t0 + 1.0)
    assert gen.last.stopped_by in ("deadline", "eos"), gen.last
    if gen.last.stopped_by == "deadline":
        assert time.monotonic() - t0 < 6.0 and text


@pytest.mark.slow
@pytest.mark.parametrize("runtime,model", PAIRS)
def test_long_prompt_keeps_its_end(runtime, model, monkeypatch):
    gen = gen_for(runtime, model)
    monkeypatch.setattr(gen, "context_length", 96)
    prompt = "The weather was mild and nothing happened. " * 60 + PROMPT
    out = gen.complete(prompt, 16)
    st = gen.last
    assert st.truncated and st.prompt_tokens <= 96 - 16
    assert "Blorp" in out  # the question at the end was kept


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["llama.cpp", "openvino", "transformers"])
def test_chat_prompt_for_qwen(runtime):
    gen = gen_for(runtime, "qwen2.5-0.5b")
    p = gen.chat_prompt([{"role": "user", "content": "What is the capital of Freedonia? It is Blorptown."}])
    assert p.startswith("<|im_start|>system\n")
    assert p.endswith("<|im_start|>user\nWhat is the capital of Freedonia? It is Blorptown.<|im_end|>\n<|im_start|>assistant\n")
    out = gen.complete(p, 16)
    assert "Blorptown" in out
    assert gen.last.stopped_by in ("eos", "stop")


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["llama.cpp", "transformers"])
def test_chat_prompt_errors_clearly_without_a_template(runtime):
    gen = gen_for(runtime, "gemma3-270m")  # the packaged Gemma 3 270M GGUF has no chat template
    with pytest.raises(ChatTemplateError, match="no chat template"):
        gen.chat_prompt([{"role": "user", "content": "hi"}])
    assert issubclass(ChatTemplateError, ValueError)


@pytest.mark.slow
@pytest.mark.parametrize("model,runtimes", [
    ("gemma3-270m", ("llama.cpp", "transformers")),
    ("qwen2.5-0.5b", ("openvino", "llama.cpp")),
])
def test_two_runtimes_give_the_same_greedy_answer(model, runtimes):
    a, b = (gen_for(rt, model) for rt in runtimes)
    prompts = [PROMPT, "Context: Shares in Acme rose 4% after it reported higher sales. Chief executive Anna Berg "
               "said demand in Asia had doubled.\nQuestion: Who is Acme's chief executive?\nAnswer:"]
    for p in prompts:
        assert a.complete(p, 12).strip() == b.complete(p, 12).strip()
        assert a.last.tokens == b.last.tokens


@pytest.mark.slow
def test_factory_caches_and_auto_picks_the_measured_runtime():
    g1 = make_generator("gemma")
    assert make_generator("gemma3-270m") is g1 and make_generator("gemma3-270m", "auto") is g1
    if HAVE["llama.cpp"]:
        assert g1.runtime == "llama.cpp"
        assert make_generator("gemma3-270m", "llama.cpp") is g1
    if HAVE["openvino"]:
        assert make_generator("qwen").runtime == "openvino"


@pytest.mark.slow
def test_a_gguf_path_and_a_transformers_folder_work():
    path = gguf_path("smollm2-135m")
    rt = "llama.cpp" if HAVE["llama.cpp"] else "transformers"
    gen = make_generator(str(path), rt)
    assert "Blorptown" in gen.complete(PROMPT, 12)
    from qa.generators.hf import converted_dir

    folder = converted_dir(gguf_path("gemma3-270m"))
    if not (folder / ".complete").exists():
        make_generator("gemma3-270m", "transformers")  # converts it
    hf = make_generator(str(folder))
    assert hf.runtime == "transformers" and "Blorptown" in hf.complete(PROMPT, 16)
