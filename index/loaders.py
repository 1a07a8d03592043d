"""Turn files into Documents: .txt/.md, .html, .jsonl, .pdf.

Every failure becomes a LoadError (path + reason); nothing raises past `load_paths`.
Nothing outside the folder that was added is read through a symlink (see `_symlink_refusal`);
doc ids are printable whatever the file names (see `printable`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .records import Document, LoadError

TEXT_EXT = {".txt", ".md", ".markdown"}
HTML_EXT = {".html", ".htm"}
JSONL_EXT = {".jsonl"}
PDF_EXT = {".pdf"}
SUPPORTED = TEXT_EXT | HTML_EXT | JSONL_EXT | PDF_EXT
NOT_ARTICLES = {"README", "LICENSE", "LICENCE", "COPYING"}
MAX_BYTES = 20 * 1024 * 1024  # a single article file larger than this is refused


class LoaderError(Exception):
    pass


# content signatures of common non-text files, so a renamed image/archive gets a clear reason
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or DOCX/XLSX)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0", "an MS Office document"),
    (b"%PDF-", "a PDF"),
]


def sniff_binary(data: bytes) -> str | None:
    """Name of the binary format `data` starts with, or None."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return None


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every non-printable character written as a visible escape.

    Control characters, line/paragraph separators and the lone surrogates Python uses for file
    names that are not valid UTF-8 become '\\n', '\\t', '\\x07', '\\u2028', '\\udce9'... Used for
    doc ids built from file names (so they are one printable, storable line) and for anything the
    command line prints. Deterministic (the same name always gives the same id) and idempotent; a
    printable string is returned unchanged.
    """
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable():
            out.append(c)
        elif c in _ESCAPES:
            out.append(_ESCAPES[c])
        else:
            o = ord(c)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


# byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one). UTF-8's mark
# is left to the UTF-8 path below, which also tolerates a few stray bytes.
_BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
]


def _decode_bom(data: bytes) -> str | None:
    """Text of UTF-16/32 data marked by a byte-order mark; None when there is no such mark."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise LoaderError(f"invalid {label} text: starts with a {label} byte-order mark, "
                                  f"then bytes that do not decode (at byte {exc.start + len(bom)})") from exc
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # control characters a text file does not hold (not \t \n \f \r)


def decode_text(data: bytes) -> str:
    """Decode bytes that should be text: UTF-16/32 when a byte-order mark says so, else UTF-8
    first, then cp1252/latin-1 for legacy files.

    Raises LoaderError for binary content (NUL bytes without a UTF-16/32 byte-order mark, or mostly
    control characters).
    """
    if not data.strip():
        raise LoaderError("empty file")
    text = _decode_bom(data)
    if text is not None:
        if not text.strip():
            raise LoaderError("empty file")
    elif b"\x00" in data[:8192]:
        raise LoaderError("binary file (contains NUL bytes), not text")
    else:
        text = _decode_8bit(data)
    sample = text[:8192]
    bad = len(_CONTROL.findall(sample))
    if bad > max(8, len(sample) // 50):
        raise LoaderError("binary file (too many control characters), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_8bit(data: bytes) -> str:
    """UTF-8 (with or without its mark); a mostly-UTF-8 file keeps UTF-8, else cp1252/latin-1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # mostly UTF-8 with a few stray bytes: keep UTF-8 (a cp1252 decode would garble every
        # multi-byte character); otherwise a legacy single-byte encoding
        loose = data.decode("utf-8-sig", errors="replace")
        bad = loose.count("\ufffd")
        good = sum(1 for c in loose if ord(c) > 127 and c != "\ufffd")
        if good > 2 * bad:
            text = loose
        else:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    return text


def split_title(text: str) -> tuple[str, int]:
    """Title = first non-empty line (markdown '#' stripped); returns (title, offset after it)."""
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            title = line.strip().lstrip("#").strip()
            return title, pos + len(line)
        pos += len(line) + 1
    return "", 0


def _text_document(doc_id: str, text: str, path: str, source: str) -> Document:
    title, _ = split_title(text)
    if not text.strip():
        raise LoaderError("empty file")
    return Document(doc_id=doc_id, title=title or Path(path).stem, text=text, path=path, source=source)


_DROP_TAGS = ["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg", "iframe", "button", "template"]
# class / id words that mark page furniture rather than article text
_FURNITURE = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|sidebar|breadcrumbs?|cookies?|banner|share|sharing|social|"
    r"related|comments?|advert|adverts|ads|promo|subscribe|newsletter|masthead|site-header|site-footer)(?:$|[-_\s])",
    re.I,
)
_BLOCK_TAGS = ["p", "li", "blockquote", "pre", "h2", "h3", "h4"]


def _is_furniture(tag) -> bool:
    if tag.name in ("html", "body", "article", "main") or getattr(tag, "attrs", None) is None:
        return False
    words = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "") + " " + (tag.get("role") or "")
    return bool(_FURNITURE.search(words)) or tag.get("role") in ("navigation", "banner", "contentinfo", "complementary")


def html_to_text(html: str) -> tuple[str, str]:
    """Return (title, article text) from an HTML page, without menus and scripts."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    # the title: the article's own <h1> (often inside an <article><header>, so look before
    # dropping headers), else the page's first <h1>, else <title>
    title = ""
    for scope in (soup.find("article"), soup.find("main"), soup):
        h1 = scope.find("h1") if scope else None
        if h1 and h1.get_text(strip=True):
            title = re.sub(r"\s+", " ", h1.get_text(" ", strip=True))
            break
    if not title and soup.title and soup.title.get_text(strip=True):
        title = re.sub(r"\s+", " ", soup.title.get_text(" ", strip=True))
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in [t for t in soup.find_all(True) if _is_furniture(t)]:
        if not tag.decomposed:
            tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for el in root.find_all(_BLOCK_TAGS):
        if el.find_parent(_BLOCK_TAGS):  # nested (<li><p>, <blockquote><p>): the outer one has the text
            continue
        t = el.get_text(" ", strip=True)
        if t:
            blocks.append(re.sub(r"\s+", " ", t))
    if not blocks:
        t = root.get_text("\n", strip=True)
        blocks = [re.sub(r"[ \t]+", " ", b) for b in t.split("\n") if b.strip()]
    if blocks and title and blocks[0] == title:
        blocks = blocks[1:]
    return title, "\n\n".join(blocks)


def _html_document(doc_id: str, raw: str, path: str, source: str) -> Document:
    title, body = html_to_text(raw)
    if not body.strip():
        raise LoaderError("HTML page has no article text")
    title = title or Path(path).stem
    return Document(doc_id=doc_id, title=title, text=f"{title}\n\n{body}", path=path, source=source)


def _pdf_document(doc_id: str, data: bytes, path: str, source: str) -> Document:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(p.extract_text() or "") for p in reader.pages]
    except Exception as exc:  # pypdf raises many types for broken files
        raise LoaderError(f"unreadable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise LoaderError("PDF has no extractable text (scanned image?)")
    meta_title = ""
    try:
        meta_title = (reader.metadata.title or "") if reader.metadata else ""
    except Exception:
        pass
    title = meta_title.strip() or split_title(text)[0] or Path(path).stem
    return Document(doc_id=doc_id, title=title, text=text, path=path, source=source)


def _jsonl_documents(doc_id: str, text: str, path: str, source: str) -> Iterator[Document | LoadError]:
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(where, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(rec, dict):
            yield LoadError(where, "line is not a JSON object")
            continue
        body = rec.get("text") or rec.get("body") or rec.get("content")
        if not isinstance(body, str) or not body.strip():
            yield LoadError(where, "record has no 'text'")
            continue
        title = str(rec.get("title") or "").strip()
        rid = rec.get("id")
        sub = printable(f"{doc_id}#{rid}" if rid not in (None, "") else f"{doc_id}:{lineno}")
        full = f"{title}\n\n{body}" if title else body
        yield Document(
            doc_id=sub,
            title=title or split_title(body)[0],
            text=full.replace("\r\n", "\n"),
            path=path,
            source=str(rec.get("source") or source),
            date=str(rec.get("date") or ""),
            url=str(rec.get("url") or ""),
        )


def load_bytes(data: bytes, name: str, doc_id: str | None = None, source: str = "", path: str = "") -> Iterator[Document | LoadError]:
    """Load one file's content. `name` decides the format (by extension, checked against content)."""
    ext = Path(name).suffix.lower()
    doc_id = printable(doc_id or name)  # ids are one printable line, whatever the name
    path = path or name
    try:
        if len(data) > MAX_BYTES:
            raise LoaderError(f"file too large ({len(data)} bytes > {MAX_BYTES})")
        if ext in PDF_EXT:
            if not data.startswith(b"%PDF"):
                raise LoaderError("not a PDF (content does not start with %PDF)")
            yield _pdf_document(doc_id, data, path, source)
            return
        if ext not in SUPPORTED:
            raise LoaderError(f"unsupported file type '{ext or name}'")
        what = sniff_binary(data)
        if what:
            raise LoaderError(f"content is {what}, not text (the name says '{ext}')")
        text = decode_text(data)
        if ext in JSONL_EXT:
            yield from _jsonl_documents(doc_id, text, path, source)
        elif ext in HTML_EXT:
            yield _html_document(doc_id, text, path, source)
        else:
            yield _text_document(doc_id, text, path, source)
    except LoaderError as exc:
        yield LoadError(path, str(exc))


def iter_files(root: Path) -> Iterator[Path]:
    """Every file under `root`, sorted, hidden names skipped; symlinked folders are yielded too
    (never entered), so that `load_paths` reports them instead of dropping them silently."""
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False: links are not entered
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for fn in sorted([*links, *(f for f in filenames if not f.startswith("."))]):
            yield Path(dirpath) / fn


def _symlink_refusal(link: Path, boundary: Path, walked: bool) -> tuple[str | None, Path]:
    """(why `link` is not read, or None; the path to read) for a symlink met while loading.

    The symlink policy: a link is followed only when its resolved target lies inside the folder
    that was added (`boundary`, resolved; for a file named on its own, the folder it sits in).
    A link pointing outside it, file or folder, is refused and reported. A linked folder is never
    entered (no loops, no file read twice): its target, when inside, is walked under its own path.
    A linked file inside is read once: when the walk reaches its target itself, under the target's
    name (the link is reported as a duplicate); otherwise (a hidden folder) under the link's name.
    """
    try:
        target = link.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"cannot resolve symlink: {exc}", link
    if not target.is_relative_to(boundary):
        return f"symlink points outside the added folder (to {target})", link
    rel = target.relative_to(boundary).as_posix()
    if target.is_dir():
        return f"symlinked folder not followed (it points inside the added folder, to {rel}/)", link
    if not target.exists():
        return f"broken symlink (its target {rel} does not exist)", link
    if walked and not any(part.startswith(".") for part in target.relative_to(boundary).parts):
        return f"symlink to {rel}, which is read (or reported) under its own name", link
    return None, target


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, opened without following a final symlink (a file swapped for
    a link after the check is refused) and without blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LoaderError("not a regular file")
        if st.st_size > MAX_BYTES:
            raise LoaderError(f"file too large ({st.st_size} bytes > {MAX_BYTES})")
        return fh.read(MAX_BYTES + 1)


@dataclass(frozen=True)
class FileJob:
    """One file `load_paths` will read, as its walk planned it (nothing read yet): what
    `load_file` needs, as plain strings, so that another process can load it (index/distributed.py)."""

    read: str  # the path opened (a symlink's target inside the added folder)
    name: str  # the file name as found (decides the format)
    doc_id: str  # the document id (printable path relative to the folder added)
    source: str
    shown: str  # the path as reported


def plan_files(paths: list[str | Path]) -> Iterator[FileJob | LoadError]:
    """The walk of `load_paths` without reading any file: a FileJob per file to load, a LoadError
    for what is refused before reading (missing paths, symlinks outside, folder README/LICENSE)."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            base = p
            files = iter_files(p)
        elif p.is_file():
            base = p.parent
            files = iter([p])
        else:
            yield LoadError(printable(str(p)), "no such file or folder")
            continue
        try:
            boundary = base.resolve()  # the folder named may itself be a link: the user chose it
        except (OSError, RuntimeError) as exc:
            yield LoadError(printable(str(p)), f"cannot resolve: {exc}")
            continue
        for f in files:
            shown = printable(str(f))
            read = f
            if f.is_symlink():
                why, read = _symlink_refusal(f, boundary, walked=p.is_dir())
                if why:
                    yield LoadError(shown, why)
                    continue
            rel = printable(f.relative_to(base).as_posix())
            if p.is_dir() and f.stem.upper() in NOT_ARTICLES:
                yield LoadError(shown, "not an article (folder README/LICENSE file)")
                continue
            source = rel.rsplit("/", 1)[0] if "/" in rel else ""
            yield FileJob(str(read), f.name, rel, source, shown)


def load_file(job: FileJob) -> Iterator[Document | LoadError]:
    """Read one planned file and load its document(s); every failure is a LoadError."""
    try:
        data = _read_regular(Path(job.read))
    except LoaderError as exc:
        yield LoadError(job.shown, str(exc))
        return
    except OSError as exc:
        yield LoadError(job.shown, f"cannot read: {exc.strerror or exc}")
        return
    yield from load_bytes(data, job.name, doc_id=job.doc_id, source=job.source, path=job.shown)


def load_paths(paths: list[str | Path], skip_unsupported_in_folders: bool = True) -> Iterator[Document | LoadError]:
    """Stream Documents (and LoadErrors) from files and folders (recursive).

    Document id = path relative to the folder that was added (file name for a single file), with
    non-printable characters escaped (`printable`). Files inside folders whose extension is not
    supported are reported as skipped, as are folder README/LICENSE files. Symlinks: see
    `_symlink_refusal` (nothing outside the added folder is ever read).
    """
    for item in plan_files(paths):
        if isinstance(item, LoadError):
            yield item
        else:
            yield from load_file(item)


def content_hash(doc: Document) -> str:
    h = hashlib.sha256()
    for part in (doc.title, doc.text, doc.source, doc.date, doc.url):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
