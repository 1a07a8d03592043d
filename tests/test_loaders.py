"""Loaders: formats, titles, document ids, encodings, and files that must be refused (with a reason)."""
from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from index import loaders
from index.loaders import content_hash, decode_text, html_to_text, load_bytes, load_paths
from index.records import Document, LoadError


def split(items):
    docs = [x for x in items if isinstance(x, Document)]
    errs = [x for x in items if isinstance(x, LoadError)]
    return docs, errs


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal, valid one-page PDF with real text objects (so pypdf can extract them)."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for ln in lines:
        esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({esc}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objs.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if title:
        trailer += b" /Info %d 0 R" % len(objs)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


# ---- text and markdown ------------------------------------------------------------------------

def test_txt_title_is_first_nonempty_line_and_doc_id_is_relative(tmp_path):
    root = tmp_path / "corpus"
    (root / "world").mkdir(parents=True)
    (root / "world" / "storm.txt").write_text("\n\n  Storm hits coast  \n\nA storm hit the coast on Monday.\n", encoding="utf-8")
    (root / "notes.md").write_text("# Budget vote delayed\n\nMPs will vote next week.\n", encoding="utf-8")
    docs, errs = split(list(load_paths([root])))
    assert errs == []
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"world/storm.txt", "notes.md"}
    assert by_id["world/storm.txt"].title == "Storm hits coast"
    assert by_id["world/storm.txt"].source == "world"
    assert by_id["notes.md"].title == "Budget vote delayed"  # markdown '#' stripped
    assert "MPs will vote next week." in by_id["notes.md"].text
    # a single file added on its own: the id is its name
    docs, _ = split(list(load_paths([root / "world" / "storm.txt"])))
    assert [d.doc_id for d in docs] == ["storm.txt"]


def test_crlf_and_bom_are_normalised():
    data = "\ufeffHeadline\r\n\r\nFirst line.\r\nSecond line.\r\n".encode("utf-8")
    (doc,) = list(load_bytes(data, "a.txt"))
    assert doc.title == "Headline"
    assert "\r" not in doc.text and not doc.text.startswith("\ufeff")
    assert doc.text == "Headline\n\nFirst line.\nSecond line.\n"


def test_real_cp1252_bbc_file_is_decoded_not_dropped(tmp_path, bbc_dir):
    src = bbc_dir / "sport" / "199.txt"
    raw = src.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the premise: this real file is not UTF-8
    (tmp_path / "sport").mkdir()
    shutil.copy(src, tmp_path / "sport" / "199.txt")
    docs, errs = split(list(load_paths([tmp_path])))
    assert errs == []
    (doc,) = docs
    assert doc.doc_id == "sport/199.txt"
    assert doc.title == "Chelsea sack Mutu"
    # byte 0xA3 is the pound sign in cp1252/latin-1: "a £15.8m signing", not mojibake or U+FFFD
    assert "a \u00a315.8m signing from Parma" in doc.text
    assert "\ufffd" not in doc.text and "\u00c2\u00a3" not in doc.text


def test_legacy_encoding_accented_words():
    data = "Café society\n\nThe café in Zürich served crème brûlée.".encode("cp1252")
    (doc,) = list(load_bytes(data, "cafe.txt"))
    assert doc.title == "Café society"
    assert "crème brûlée" in doc.text and "Zürich" in doc.text


def test_mostly_utf8_with_a_stray_byte_stays_utf8():
    data = "Résumé — naïve café\n\n".encode() + "Ünïcödé text. ".encode() * 5 + b"stray \x93byte\x94."
    text = decode_text(data)
    assert text.startswith("Résumé — naïve café")  # not 'RÃ©sumÃ©'
    assert "Ünïcödé" in text


# ---- HTML --------------------------------------------------------------------------------------

NEWS_PAGE = """<!doctype html><html><head><title>Storm hits coast | Daily News</title>
<script>var tracking = "SCRIPTTEXT";</script><style>.x{color:red}</style></head>
<body>
<div class="site-menu"><ul><li><a href="/">Home</a></li><li><a href="/sport">MENUITEM Sport</a></li></ul></div>
<header><nav><a href="/">NAVLINK</a></nav></header>
<article>
<header><h1>Storm hits coast</h1></header>
<p>A powerful storm hit the coast on Monday, cutting power to 10,000 homes.</p>
<ul><li><p>Schools were closed.</p></li></ul>
<blockquote><p>"It was terrifying," said one resident.</p></blockquote>
<div class="share-buttons"><p>SHAREBUTTON Share this</p></div>
<p>Repairs are expected to take a week.</p>
</article>
<aside><p>ASIDETEXT related stories</p></aside>
<footer><p>FOOTERTEXT copyright</p></footer>
<script>console.log("SCRIPT2")</script>
</body></html>"""


def test_html_keeps_article_text_not_menus_or_scripts():
    title, body = html_to_text(NEWS_PAGE)
    assert title == "Storm hits coast"  # the article's <h1>, not the <title> with the site name
    for junk in ("SCRIPTTEXT", "SCRIPT2", "MENUITEM", "NAVLINK", "SHAREBUTTON", "ASIDETEXT", "FOOTERTEXT", "color:red"):
        assert junk not in body
    assert "cutting power to 10,000 homes" in body
    assert "Repairs are expected to take a week." in body
    # nested blocks (<li><p>, <blockquote><p>) appear once
    assert body.count("Schools were closed.") == 1
    assert body.count("It was terrifying") == 1


def test_html_file_document(tmp_path):
    (tmp_path / "storm.html").write_text(NEWS_PAGE, encoding="utf-8")
    (doc,) = list(load_paths([tmp_path]))
    assert isinstance(doc, Document)
    assert doc.doc_id == "storm.html" and doc.title == "Storm hits coast"
    assert doc.text.startswith("Storm hits coast\n\n")
    assert "SCRIPTTEXT" not in doc.text


def test_html_without_article_tag_and_without_text():
    title, body = html_to_text(
        "<html><head><title>Page</title></head><body><div id='menu'><li>MENU</li></div>"
        "<div class='content'><p>Hello world.</p><p>Second para.</p></div></body></html>"
    )
    assert title == "Page" and body == "Hello world.\n\nSecond para."
    (err,) = list(load_bytes(b"<html><body><script>x()</script></body></html>", "empty.html"))
    assert isinstance(err, LoadError) and "no article text" in err.reason


# ---- JSONL -------------------------------------------------------------------------------------

def test_jsonl_one_article_per_line(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "Rates rise", "text": "The bank raised rates.", "url": "http://x/1", "date": "2024-01-02", "source": "wire"}),
        "",
        json.dumps({"title": "No id here", "text": "Body without an id."}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"title": "No text"}),
        json.dumps({"id": 7, "text": "Untitled body first line.\nMore."}),
    ]
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, errs = split(list(load_paths([tmp_path])))
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) == {"feed/news.jsonl#a1", "feed/news.jsonl:3", "feed/news.jsonl#7"}
    a1 = by_id["feed/news.jsonl#a1"]
    assert (a1.title, a1.url, a1.date, a1.source) == ("Rates rise", "http://x/1", "2024-01-02", "wire")
    assert a1.text == "Rates rise\n\nThe bank raised rates."
    assert by_id["feed/news.jsonl:3"].source == "feed"  # folder when the record has none
    assert by_id["feed/news.jsonl#7"].title == "Untitled body first line."
    # every bad line is reported with path:line and a reason
    reasons = {e.path.rsplit(":", 1)[1]: e.reason for e in errs}
    assert set(reasons) == {"4", "5", "6"}
    assert "invalid JSON" in reasons["4"] and "not a JSON object" in reasons["5"] and "no 'text'" in reasons["6"]
    assert all(e.path.startswith(str(tmp_path / "feed" / "news.jsonl")) for e in errs)


# ---- PDF ---------------------------------------------------------------------------------------

def test_pdf_via_pypdf(tmp_path):
    data = make_pdf(["Flood defences approved", "The council approved new flood defences on Tuesday."])
    (tmp_path / "flood.pdf").write_bytes(data)
    (doc,) = list(load_paths([tmp_path]))
    assert isinstance(doc, Document), doc
    assert doc.doc_id == "flood.pdf"
    assert doc.title == "Flood defences approved"
    assert "approved new flood defences" in doc.text


def test_pdf_title_from_metadata():
    (doc,) = list(load_bytes(make_pdf(["Body line one."], title="Meta Title"), "m.pdf"))
    assert doc.title == "Meta Title" and "Body line one." in doc.text


def test_broken_and_empty_pdfs_are_reported():
    good = make_pdf(["Some text here."])
    (e1,) = list(load_bytes(good[: len(good) // 3], "trunc.pdf"))
    (e2,) = list(load_bytes(make_pdf([]), "blank.pdf"))
    (e3,) = list(load_bytes(b"just text", "fake.pdf"))
    assert isinstance(e1, LoadError) and e1.path == "trunc.pdf"
    assert isinstance(e2, LoadError) and "no extractable text" in e2.reason
    assert isinstance(e3, LoadError) and "not a PDF" in e3.reason


# ---- refusing what is not an article ------------------------------------------------------------

REFUSED = [
    ("image.txt", make_png(), "PNG"),
    ("paper.txt", make_pdf(["Hidden PDF text."]), "PDF"),
    ("page.html", make_png(), "PNG"),
    ("feed.jsonl", b"PK\x03\x04" + bytes(range(256)), "ZIP"),
    ("nul.md", b"Title\n\nsome text\x00\x00\x00 more", "binary"),
    ("noise.txt", bytes(range(1, 32)) * 200, "binary"),
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n\t \n", "empty"),
    ("photo.jpg", b"\xff\xd8\xff\xe0 data", "unsupported"),
]


@pytest.mark.parametrize("name,data,reason", REFUSED, ids=[c[0] for c in REFUSED])
def test_unreadable_files_are_refused_with_a_reason(name, data, reason):
    (item,) = list(load_bytes(data, name))
    assert isinstance(item, LoadError), item
    assert item.path == name
    assert reason.lower() in item.reason.lower()


def test_bad_files_are_skipped_and_the_rest_indexed(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text("Good article\n\nThis one is fine.", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(make_png())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "big.txt").write_text("Big\n\n" + "word " * 400, encoding="utf-8")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "README.txt").write_text("About this folder", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden\n\nnot loaded", encoding="utf-8")
    monkeypatch.setattr(loaders, "MAX_BYTES", 1000)
    docs, errs = split(list(load_paths([tmp_path, tmp_path / "missing-folder"])))
    assert [d.doc_id for d in docs] == ["good.txt"]
    reasons = {Path(e.path).name: e.reason for e in errs}
    assert set(reasons) == {"image.txt", "empty.txt", "big.txt", "data.bin", "README.txt", "missing-folder"}
    assert "too large" in reasons["big.txt"]
    assert "PNG" in reasons["image.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "unsupported" in reasons["data.bin"]
    assert "no such file" in reasons["missing-folder"]
    assert all(e.path.startswith(str(tmp_path)) for e in errs)  # full path, so the user can find it


def test_content_hash_tracks_content_not_identity():
    a = Document("x.txt", "T", "T\n\nbody")
    assert content_hash(a) == content_hash(Document("y.txt", "T", "T\n\nbody", path="/elsewhere"))
    assert content_hash(a) != content_hash(Document("x.txt", "T", "T\n\nbody!"))
    assert content_hash(a) != content_hash(Document("x.txt", "T", "T\n\nbody", date="2024"))
