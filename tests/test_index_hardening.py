"""Index-side hardening: symlinks stay inside the added folder, an index without its database is
corrupt (and left untouched), BOM-marked UTF-16/32 text is decoded, and doc ids / listings survive
any file name."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from index import CorruptIndex, IndexError_, IndexStore
from index.__main__ import main as cli_main
from index.embedder import DEFAULT_EMBEDDER
from index.loaders import load_bytes, load_paths
from index.records import Document, LoadError


def split(items):
    docs = [x for x in items if isinstance(x, Document)]
    errs = [x for x in items if isinstance(x, LoadError)]
    return docs, errs


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- symlinks -----------------------------------------------------------------------------------

def test_symlinks_pointing_outside_the_added_folder_are_skipped_and_reported(tmp_path):
    secret = write(tmp_path / "etc" / "passwd.txt", "root:x:0:0:root:/root:/bin/bash\n\ndaemon:x:1:1")
    write(tmp_path / "elsewhere" / "story.txt", "Outside story\n\nThis folder was never added.")
    d = tmp_path / "d"
    write(d / "good.txt", "Good article\n\nThis one is inside.")
    (d / "p.txt").symlink_to(secret)
    (d / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (d / "up.txt").symlink_to(Path("..") / "etc" / "passwd.txt")  # relative link that climbs out

    docs, errs = split(list(load_paths([d])))
    assert [x.doc_id for x in docs] == ["good.txt"]
    assert all("root:x" not in x.text for x in docs)
    reasons = {Path(e.path).name: e.reason for e in errs}
    assert set(reasons) == {"p.txt", "linked", "up.txt"}  # the folder link is reported, not silent
    assert all("symlink points outside the added folder" in r for r in reasons.values())

    # naming the link itself: the boundary is the folder it sits in
    docs, errs = split(list(load_paths([d / "p.txt"])))
    assert docs == [] and len(errs) == 1 and "outside the added folder" in errs[0].reason


def test_symlinks_inside_the_added_folder_are_read_once(tmp_path):
    d = tmp_path / "d"
    write(d / "real" / "a.txt", "Alpha story\n\nThe alpha text.")
    write(d / ".drafts" / "b.txt", "Beta story\n\nThe beta text, only reachable through its link.")
    (d / "alias.txt").symlink_to(d / "real" / "a.txt")  # its target is walked as real/a.txt
    (d / "beta.txt").symlink_to(Path(".drafts") / "b.txt")  # its target is in a hidden folder
    (d / "mirror").symlink_to(d / "real", target_is_directory=True)

    docs, errs = split(list(load_paths([d])))
    by_id = {x.doc_id: x for x in docs}
    assert sorted(by_id) == ["beta.txt", "real/a.txt"]  # a.txt once, under its real name
    assert "beta text" in by_id["beta.txt"].text
    reasons = {Path(e.path).name: e.reason for e in errs}
    assert set(reasons) == {"alias.txt", "mirror"}
    assert "real/a.txt" in reasons["alias.txt"] and "outside" not in reasons["alias.txt"]
    assert "not followed" in reasons["mirror"] and "outside" not in reasons["mirror"]

    # a link named on its own, pointing next to itself, is read under its own name
    docs, errs = split(list(load_paths([d / "alias.txt"])))
    assert [x.doc_id for x in docs] == ["alias.txt"] and errs == []


# ---- an index whose database is missing or empty -------------------------------------------------

@pytest.fixture(scope="module")
def small_index(tmp_path_factory, any_embedder) -> Path:
    path = tmp_path_factory.mktemp("hard") / "idx"
    store = IndexStore(path, embedder=any_embedder)
    store.add_documents([Document("zoo.txt", "Zoo welcomes zebra foal", "Zoo welcomes zebra foal\n\nA zebra foal was born.")])
    store.close()
    return path


def snapshot(folder: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}


@pytest.mark.parametrize("damage", ["empty", "missing"])
def test_index_files_without_their_database_are_corrupt_and_left_alone(small_index, tmp_path, any_embedder, capsys, damage):
    import shutil

    idx = shutil.copytree(small_index, tmp_path / "idx")
    assert list(idx.glob("vectors-*.faiss"))
    db = idx / "meta.sqlite"
    if damage == "empty":
        db.write_bytes(b"")
    else:
        db.unlink()
    before = snapshot(idx)

    for create in (True, False):
        with pytest.raises(CorruptIndex) as ei:
            IndexStore(idx, embedder=any_embedder, create=create)
        msg = str(ei.value)
        assert "corrupt" in msg and "python -m index add" in msg and str(idx) in msg
        assert isinstance(ei.value, IndexError_)
    assert snapshot(idx) == before

    articles = write(tmp_path / "news" / "a.txt", "Some story\n\nWith a body.").parent
    for argv in (["add", str(articles), "--quiet"], ["list"], ["stats"]):
        assert cli_main([*argv, "--index-dir", str(idx)]) == 2
        out, err = capsys.readouterr()
        assert "corrupt" in err and "python -m index add" in err and "Traceback" not in err
    assert snapshot(idx) == before


def test_a_new_index_still_opens_in_an_empty_or_fresh_folder(tmp_path, any_embedder):
    (tmp_path / "a").mkdir()
    store = IndexStore(tmp_path / "a", embedder=any_embedder)
    assert store.stats()["documents"] == 0
    store.close()
    with pytest.raises(IndexError_, match="no index at"):
        IndexStore(tmp_path / "b", create=False)


# ---- byte-order marks ----------------------------------------------------------------------------

TEXT = "Café society\n\nThe café in Zürich served crème brûlée — 5 €.\n"
BOMS = {
    "utf-16-le": b"\xff\xfe",
    "utf-16-be": b"\xfe\xff",
    "utf-32-le": b"\xff\xfe\x00\x00",
    "utf-32-be": b"\x00\x00\xfe\xff",
    "utf-8": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("enc", list(BOMS))
def test_text_with_a_byte_order_mark_is_decoded(enc):
    data = BOMS[enc] + TEXT.replace("\n", "\r\n").encode(enc)
    (doc,) = list(load_bytes(data, "cafe.txt"))
    assert isinstance(doc, Document), doc
    assert doc.title == "Café society"
    assert doc.text == TEXT


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-32-be"])
def test_jsonl_and_html_with_a_byte_order_mark_are_decoded(enc):
    rec = json.dumps({"id": "a1", "title": "Café society", "text": "Crème brûlée in Zürich."}, ensure_ascii=False)
    (doc,) = list(load_bytes(BOMS[enc] + (rec + "\n").encode(enc), "feed.jsonl"))
    assert isinstance(doc, Document), doc
    assert doc.doc_id == "feed.jsonl#a1" and "Crème brûlée" in doc.text
    page = "<html><body><article><h1>Café society</h1><p>Crème brûlée in Zürich.</p></article></body></html>"
    (doc,) = list(load_bytes(BOMS[enc] + page.encode(enc), "page.html"))
    assert isinstance(doc, Document), doc
    assert doc.title == "Café society" and "Crème brûlée in Zürich." in doc.text


def test_bom_marked_files_that_do_not_decode_are_refused_with_a_reason():
    (err,) = list(load_bytes(b"\xff\xfe" + "Title\n\nbody".encode("utf-16-le") + b"\x00", "odd.txt"))
    assert isinstance(err, LoadError) and "UTF-16" in err.reason
    (err,) = list(load_bytes(b"\xff\xfe" + "  \n".encode("utf-16-le"), "blank.txt"))
    assert isinstance(err, LoadError) and "empty" in err.reason
    # no BOM, NUL bytes: still binary
    (err,) = list(load_bytes("Title\n\nbody".encode("utf-16-le"), "nobom.txt"))
    assert isinstance(err, LoadError) and "binary" in err.reason


# ---- names with control characters ---------------------------------------------------------------

NASTY = ["evil\nname.txt", "tab\there.txt", "bell\x07.txt", "line\u2028sep.txt"]


def make_nasty_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(NASTY):
        (root / name).write_text(f"Story {i}\n\nBody of story number {i}.", encoding="utf-8")
    # a name that is not valid UTF-8 at all (Python sees it as a lone surrogate)
    with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as fh:
        fh.write(b"Story latin\n\nBody of the latin-1 named story.")
    (root / "sub\ndir").mkdir()
    (root / "sub\ndir" / "inner.txt").write_text("Inner\n\nInside a folder with a newline.", encoding="utf-8")
    (root / "feed.jsonl").write_text(json.dumps({"id": "x\ny", "title": "Fed", "text": "A record."}) + "\n", encoding="utf-8")
    return root


def test_doc_ids_from_any_name_are_printable_distinct_and_stable(tmp_path):
    root = make_nasty_folder(tmp_path / "d")
    docs, errs = split(list(load_paths([root])))
    assert errs == []
    ids = [x.doc_id for x in docs]
    assert len(ids) == len(set(ids)) == len(NASTY) + 3
    assert all(i.isprintable() for i in ids), ids
    assert all(x.source.isprintable() and x.path.isprintable() for x in docs)
    assert "evil\\nname.txt" in ids and "tab\\there.txt" in ids  # readable escapes
    assert ids == [x.doc_id for x in load_paths([root])]  # the same file maps to the same id
    for x in docs:
        x.doc_id.encode("utf-8")  # storable: no lone surrogates


def test_list_and_skip_report_print_one_line_per_entry(tmp_path, any_embedder, capsys):
    root = make_nasty_folder(tmp_path / "d")
    (root / "broken\nfile.txt").write_bytes(b"")  # skipped: its report line must stay one line
    idx = str(tmp_path / "idx")
    flag = [] if any_embedder.name == DEFAULT_EMBEDDER else ["--embedder", any_embedder.name]  # MiniLM: the default
    assert cli_main(["add", str(root), "--index-dir", idx, "--quiet", *flag]) == 0
    out, err = capsys.readouterr()
    assert "added 7" in out and "skipped 1" in out
    skipped = [ln for ln in err.splitlines() if ln.strip()]
    assert len(skipped) == 1 and skipped[0].startswith("skipped ") and "broken\\nfile.txt" in skipped[0]

    # an id stored by older code (or the API) with a raw newline and a tab in the title
    store = IndexStore(idx, embedder=any_embedder)
    store.add_documents([Document("old\nid.txt", "Title\twith tab", "Title\twith tab\n\nOld body.")])
    n = store.stats()["documents"]
    store.close()
    assert cli_main(["list", "--index-dir", idx]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == n == 8  # the 7 added above and the old one
    assert all(len(ln.split("\t")) == 3 for ln in lines)  # doc id, chunks, title: no stray tabs
    assert all(part.isprintable() for ln in lines for part in ln.split("\t"))
    assert any(ln.startswith("old\\nid.txt\t") for ln in lines)


def test_a_fifo_in_the_folder_is_reported_not_waited_on(tmp_path):
    import threading

    d = tmp_path / "d"
    write(d / "good.txt", "Good article\n\nThis one is fine.")
    os.mkfifo(d / "pipe.txt")  # opening it for reading would block until a writer comes
    out: list = []
    t = threading.Thread(target=lambda: out.extend(load_paths([d])), daemon=True)
    t.start()
    t.join(timeout=20)
    assert not t.is_alive(), "load_paths blocked on a FIFO"
    docs, errs = split(out)
    assert [x.doc_id for x in docs] == ["good.txt"]
    assert [(Path(e.path).name, e.reason) for e in errs] == [("pipe.txt", "not a regular file")]
