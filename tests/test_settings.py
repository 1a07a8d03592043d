"""Settings in one place: unknown names are errors, defaults and limits are read (not retyped) by the
command lines and the page, the environment is read once per package."""
from __future__ import annotations

import pytest

from qa import Settings


def test_with_changes_fields_and_keeps_them_for_none():
    s = Settings().with_(k=3, generator=None)
    assert s.k == 3 and s.generator == Settings().generator


def test_with_refuses_an_unknown_setting_naming_it_and_the_fields():
    with pytest.raises(TypeError, match=r"unknown setting 'kk' \(did you mean 'k'\?\); the settings are k, dense_depth"):
        Settings().with_(kk=3)
    with pytest.raises(TypeError, match="unknown setting 'no_such_thing'"):
        Settings().with_(k=2, no_such_thing=1)


def test_an_unknown_override_is_an_error_through_the_api():
    from qa import QA

    qa = QA.__new__(QA)  # no index needed: the settings are checked first
    qa.settings = Settings()
    with pytest.raises(TypeError, match="unknown setting 'max_tokens'"):
        list(qa.ask_stream("Who?", max_tokens=5))


def test_the_moved_thresholds_keep_their_values():
    """Thresholds that were inline in the answering code, now Settings fields: the same values."""
    s = Settings()
    assert (s.evidence_sentences, s.evidence_terms, s.evidence_rank_penalty) == (8, 0.5, 0.03)
    assert (s.min_context_tokens, s.follow_up_words, s.follow_up_chars) == (64, 3, 200)
    from index import lexical
    from qa import answerable, api, evidence, retriever

    assert (lexical.TITLE_WEIGHT, lexical.MAX_QUERY_TERMS, api.PROMPT_SLACK_TOKENS) == (0.5, 32, 16)
    assert (evidence.SENTENCE_TOKENS, evidence.PASSAGE_TOKENS, retriever.STRONG_WEIGHT, retriever.MIN_STEM) == (2, 4, 2.0, 4)
    assert (answerable.NAME_CHARS, answerable.ACRONYM_LETTERS, answerable.PREFIX, answerable.LENIENT_CHARS,
            answerable.SHORT_ANSWER) == (3, 3, 4, 5, 3)


def test_chunk_size_is_defined_once_and_read_by_the_store_the_chunker_and_the_cli():
    import inspect

    from index.__main__ import main  # noqa: F401 - the CLI module imports its default from index.config
    from index.chunking import Chunker
    from index.config import CHUNK_TOKENS, DEFAULTS, IndexSettings
    from index.store import IndexStore

    assert CHUNK_TOKENS == IndexSettings().chunk_tokens == 200
    assert inspect.signature(Chunker).parameters["max_tokens"].default == CHUNK_TOKENS
    store_defaults = inspect.signature(IndexStore).parameters
    assert (store_defaults["chunk_tokens"].default, store_defaults["overlap"].default, store_defaults["vector_kind"].default) == (
        DEFAULTS.chunk_tokens, DEFAULTS.overlap, DEFAULTS.vector_kind)


def test_the_page_and_the_api_offer_one_range_of_k():
    import app
    from qa.config import field_range

    assert app.K_RANGE == field_range("k") == (1, 10) and app.TOKENS_RANGE == field_range("max_new_tokens")
    low, high = app.K_RANGE
    assert app.check_k(str(high)) == high and app.check_k(low) == low
    for bad in (low - 1, high + 1, "x", None):
        with pytest.raises(app.gr.Error):
            app.check_k(bad)


def test_command_lines_show_the_settings_defaults(capsys):
    from eval.__main__ import main as eval_main
    from qa.__main__ import main as qa_main

    with pytest.raises(SystemExit):
        qa_main(["ask", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default {Settings.k})" in out and f"(default {Settings.max_new_tokens})" in out and "gemma3-270m" in out
    with pytest.raises(SystemExit):
        eval_main(["--help"])
    assert f"(Settings.k, default {Settings.k})" in " ".join(capsys.readouterr().out.split())


def test_environment_is_read_once_into_one_record_per_package():
    from index.config import IndexEnv
    from index.config import read_env as read_index_env
    from qa.config import Env, read_env

    assert read_env({}) == Env() and read_index_env({}) == IndexEnv()
    e = read_env({"QA_GENERATOR": "gemma3-270m", "QA_MAX_CONTEXT": "2048", "QA_THREADS": "0", "QA_GENERATOR_RUNTIME": "llama.cpp"})
    assert (e.generator, e.max_context, e.threads, e.generator_runtime) == ("gemma3-270m", 2048, 1, "llama.cpp")
    with pytest.raises(ValueError, match=r"\$QA_THREADS must be a whole number \(got 'many'\)"):
        read_env({"QA_THREADS": "many"})
    i = read_index_env({"QA_EMBED_THREADS": " 3 ", "QA_VECTOR_IVF_MIN": "x", "QA_VECTOR_MMAP": "0", "QA_INDEX_DIR": "/tmp/ix"})
    assert (i.embed_threads, i.vector_ivf_min, i.vector_mmap, i.index_dir) == (3, None, False, "/tmp/ix")


def test_the_default_reader_follows_qa_generator(set_env):
    set_env(QA_GENERATOR="gemma3-270m")
    assert Settings().generator == "gemma3-270m"
    from index import config as index_config

    set_env(QA_INDEX_DIR="/tmp/some-index")
    from index import default_index_dir

    assert str(default_index_dir()) == "/tmp/some-index" and index_config.env().index_dir == "/tmp/some-index"


def test_the_readme_lists_every_environment_variable_where_it_is_documented():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for path, record in (("index/config.py", "IndexEnv"), ("qa/config.py", "Env"), ("app.py", "AppEnv")):
        src = (root / path).read_text()
        body = src[src.index(f"class {record}:"):].split("\n\n\n")[0]
        documented = re.findall(r"# ([A-Z][A-Z_]+):", body)
        line = next(x for x in readme.splitlines() if x.startswith(f"- `{path}`"))
        assert documented and re.findall(r"`([A-Z][A-Z_]+)`", line) == documented, path
