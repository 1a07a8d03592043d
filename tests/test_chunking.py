"""Chunking: sentence-aware, sized in the embedder's own tokens (never truncated), with overlap and exact offsets.
Each test runs with MiniLM's tokenizer and with the fast embedder's regex tokens (any_embedder)."""
from __future__ import annotations

import pytest

from conftest import BBC_SAMPLE
from index.chunking import Chunker, split_sentences
from index.loaders import load_paths
from index.records import Document

LIMIT = 254  # MiniLM (and the fast embedder): 256 positions, minus [CLS] and [SEP]


@pytest.fixture(scope="module")
def chunker(any_embedder):
    # the store's settings: 200-token chunks, 1 sentence of overlap, the embedder's own budget
    assert any_embedder.token_budget == LIMIT
    return Chunker(any_embedder.count_tokens, count_batch=any_embedder.count_tokens_batch, max_tokens=200, overlap=1, hard_limit=any_embedder.token_budget)


def check_chunks(doc, chunks, chunker, any_embedder):
    """The invariants every chunking must satisfy; returns the token counts of the embed texts."""
    assert chunks, "a non-empty document gives at least one chunk"
    counts = []
    for i, c in enumerate(chunks):
        assert c.doc_id == doc.doc_id and c.title == doc.title and c.ord == i
        assert 0 <= c.start < c.end <= len(doc.text)
        assert doc.text[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text
        et = chunker.embed_text(c)
        n = any_embedder.count_tokens(et)
        assert n <= LIMIT, f"chunk {i} has {n} tokens"
        # and the model really sees all of it: nothing is cut off at 256 positions
        ids = any_embedder.tokenizer(et, truncation=True, max_length=any_embedder.max_seq_length)["input_ids"]
        assert len(ids) == n + 2
        counts.append(n)
    # chunks advance through the document, and together cover every non-space character after the title
    assert all(b.start > a.start and b.end > a.end for a, b in zip(chunks, chunks[1:]))
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    body_start = chunks[0].start
    missing = [i for i in range(body_start, len(doc.text)) if not doc.text[i].isspace() and i not in covered]
    assert not missing, f"text not in any chunk: {doc.text[missing[0]:missing[0] + 40]!r}"
    return counts


def test_real_bbc_articles(bbc_dir, chunker, any_embedder):
    docs = [d for d in load_paths([bbc_dir / rel for rel in BBC_SAMPLE]) if isinstance(d, Document)]
    assert len(docs) == len(BBC_SAMPLE)
    multi = 0
    for doc in docs:
        chunks = chunker.chunk(doc)
        counts = check_chunks(doc, chunks, chunker, any_embedder)
        assert max(counts) <= 200 + 2
        # the title line is not repeated in the chunk text (it is prefixed to the embed text)
        assert chunks[0].start > 0 and not chunks[0].text.startswith(doc.title)
        assert all(chunker.embed_text(c).startswith(doc.title + "\n") for c in chunks)
        if len(chunks) > 1:
            multi += 1
            for a, b in zip(chunks, chunks[1:]):
                assert b.start < a.end, "consecutive chunks share (overlap) a sentence"
                overlap = doc.text[b.start : a.end]
                assert overlap.rstrip()[-1] in ".!?\"'”’)", "the overlap is whole sentences"
            # chunks end at sentence ends, not mid-sentence
            assert all(c.text[-1] in ".!?\"'”’)" for c in chunks)
    assert multi >= 2, "the sample should include articles longer than one chunk"


def test_batched_token_counts_give_the_same_chunks(bbc_dir, chunker, any_embedder):
    """Counting a document's sentences in one tokenizer call changes nothing but the speed."""
    one_by_one = Chunker(any_embedder.count_tokens, max_tokens=200, overlap=1, hard_limit=any_embedder.token_budget)
    for doc in load_paths([bbc_dir / rel for rel in BBC_SAMPLE]):
        assert isinstance(doc, Document)
        assert chunker.chunk(doc) == one_by_one.chunk(doc)


def test_chunks_are_counted_in_one_call_per_document(bbc_dir, any_embedder):
    """The packed chunks' real embed texts are counted together (one tokenizer call per document),
    not one call per chunk: only the title is counted on its own."""
    single: list[str] = []
    ch = Chunker(lambda t: single.append(t) or any_embedder.count_tokens(t), count_batch=any_embedder.count_tokens_batch,
                 max_tokens=200, overlap=1, hard_limit=any_embedder.token_budget)
    longest = 0
    for doc in load_paths([bbc_dir / rel for rel in BBC_SAMPLE]):
        single.clear()
        longest = max(longest, len(ch.chunk(doc)))
        assert len(single) <= 2, single  # the title's prefix and its token count
    assert longest >= 3


def test_a_chunk_over_the_limit_once_joined_is_packed_again():
    """Pieces counted one by one can fit where their joined text does not (a tokenizer for which a
    sentence boundary costs tokens here): the chunk drops sentences until its real text fits."""
    def count(text: str) -> int:
        return len(text.split()) + 6 * text.count(". ")

    ch = Chunker(count, count_batch=lambda ts: [count(t) for t in ts], max_tokens=40, overlap=1, hard_limit=254)
    body = " ".join(f"Sentence number {i} has exactly seven words." for i in range(12))
    doc = Document("s.txt", "Title", "Title\n\n" + body)
    chunks = ch.chunk(doc)
    assert all(count(ch.embed_text(c)) <= 40 for c in chunks)
    # 3 sentences: 21 words + 2 boundaries x 6 + the title = 34; 4 would be 47
    assert [c.text.count(". ") + 1 for c in chunks[:-1]] == [3] * (len(chunks) - 1)
    assert chunks[-1].text.endswith("Sentence number 11 has exactly seven words.")


def test_one_2000_word_sentence_without_punctuation(chunker, any_embedder):
    words = [f"word{i % 97}" if i % 5 else "antidisestablishmentarianism" for i in range(2000)]
    doc = Document("long.txt", "A long sentence", "A long sentence\n\n" + " ".join(words))
    chunks = chunker.chunk(doc)
    counts = check_chunks(doc, chunks, chunker, any_embedder)
    assert len(chunks) > 10 and min(counts[:-1]) > 100  # cut into near-full chunks, not tiny slivers
    # cut at word boundaries
    for c in chunks:
        assert doc.text[c.start - 1].isspace() and (c.end == len(doc.text) or doc.text[c.end].isspace())


@pytest.mark.parametrize(
    "body",
    [
        "See https://example.com/" + "/".join(f"seg{i}" for i in range(600)) + " for details.",  # one ~1,800-token 'word'
        "This is a test of a long word " + "x" * 5000 + " end.",  # over 100 chars: one [UNK]
        "这是一个很长的句子没有标点符号" * 150,  # CJK: every character is a token, no spaces anywhere
        "a.b," * 800,  # punctuation soup, no whitespace
        "Email: " + ";".join(f"person{i}@example.org" for i in range(300)),
    ],
    ids=["url", "huge-word", "cjk", "punct", "emails"],
)
def test_words_longer_than_a_chunk_are_cut(body, chunker, any_embedder):
    doc = Document("w.txt", "Long words", "Long words\n\n" + body)
    check_chunks(doc, chunker.chunk(doc), chunker, any_embedder)


def test_very_long_title_does_not_overflow(chunker, any_embedder):
    title = " ".join(f"Headline{i}" for i in range(300))  # ~900 tokens alone
    doc = Document("t.txt", title, title + "\n\nShort body. Another sentence here.")
    chunks = chunker.chunk(doc)
    check_chunks(doc, chunks, chunker, any_embedder)
    et = chunker.embed_text(chunks[0])
    assert et.startswith("Headline0 Headline1") and et.endswith("Short body. Another sentence here.")


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met Dr. Jones at 10 a.m. in St. Paul's. The U.S. Army said no. Sales rose 4.5% to £15.8m! Really? Yes."
    sents = [text[s:e] for s, e in split_sentences(text)]
    assert sents == [
        "Mr. Smith met Dr. Jones at 10 a.m. in St. Paul's.",
        "The U.S. Army said no.",
        "Sales rose 4.5% to £15.8m!",
        "Really?",
        "Yes.",
    ]


def test_paragraphs_blank_lines_and_crlf(chunker, any_embedder):
    text = "Headline\r\n\r\nFirst para line one\r\ncontinues here.\r\n\r\n\r\n   \r\nSecond para. Mr. Smith spoke.\r\n\r\n"
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["Headline", "First para line one\r\ncontinues here.", "Second para.", "Mr. Smith spoke."]
    doc = Document("crlf.txt", "Headline", text)
    (c,) = chunker.chunk(doc)
    check_chunks(doc, [c], chunker, any_embedder)
    assert c.text.startswith("First para") and c.text.endswith("Mr. Smith spoke.")


def test_title_only_and_whitespace_documents(chunker, any_embedder):
    doc = Document("t.txt", "Only a title", "Only a title\n\n   \n")
    (c,) = chunker.chunk(doc)
    assert c.text == "Only a title" and doc.text[c.start : c.end] == c.text
    # a title that does not come from the text (PDF metadata): the whole text is chunked
    doc = Document("p.pdf", "Meta title", "Body first line.\nMore body.")
    (c,) = chunker.chunk(doc)
    assert c.text == doc.text and c.start == 0


def test_overlap_setting(any_embedder):
    sents = [f"Sentence number {i} talks about the weather in town {i}." for i in range(60)]
    doc = Document("o.txt", "Weather", "Weather\n\n" + " ".join(sents))
    no = Chunker(any_embedder.count_tokens, max_tokens=64, overlap=0).chunk(doc)
    two = Chunker(any_embedder.count_tokens, max_tokens=64, overlap=2).chunk(doc)
    assert all(b.start > a.end for a, b in zip(no, no[1:]))  # no shared text
    for a, b in zip(two, two[1:]):
        shared = split_sentences(doc.text, b.start, a.end)
        assert len(shared) == 2
    assert len(two) > len(no) > 3


def test_max_tokens_over_the_limit_is_refused(any_embedder):
    with pytest.raises(ValueError):
        Chunker(any_embedder.count_tokens, max_tokens=300, hard_limit=any_embedder.token_budget)
