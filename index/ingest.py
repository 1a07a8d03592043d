"""Articles added from the web page: uploaded files and pasted text.

Thin safety layer in front of `loaders.load_bytes` -> `IndexStore.add_documents`:
- at most MAX_FILES files per upload and MAX_FILE_BYTES per file (size checked before reading);
- an uploaded file's name is only a label: its sanitised basename becomes the doc id
  `upload/<name>`; nothing is ever written to a path derived from it;
- the content decides the type (loaders.load_bytes): known binary formats (images, archives,
  executables...) are refused whatever the extension says, a .pdf must start with %PDF, and
  text must decode as text.
Every refusal is a LoadError(label, reason) in the report; nothing raises for a bad file.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

from .loaders import MAX_BYTES, SUPPORTED, load_bytes, printable
from .records import AddReport, Document, LoadError

MAX_FILES = 50
MAX_FILE_BYTES = MAX_BYTES  # the loaders' own per-file limit
MAX_PASTE_CHARS = 2_000_000
UPLOAD_EXT = sorted(SUPPORTED)

def safe_name(name: str, default: str = "file") -> str:
    """A label made from an untrusted file name: basename only, printable, no path syntax."""
    name = unicodedata.normalize("NFKC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]  # basename, for both / and \ separators
    name = "".join(c for c in name if c.isprintable())
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" ._")
    name = re.sub(r"[ _]{2,}", "_", name)
    name = re.sub(r"\.{2,}", ".", name)
    if len(name) > 100:
        stem, ext = os.path.splitext(name)
        name = stem[: 100 - len(ext)] + ext
    return name or default


def _unique(label: str, used: set[str]) -> str:
    if label not in used:
        used.add(label)
        return label
    stem, ext = os.path.splitext(label)
    i = 2
    while f"{stem}-{i}{ext}" in used:
        i += 1
    used.add(f"{stem}-{i}{ext}")
    return f"{stem}-{i}{ext}"


def _load_upload(path: Path, label: str, doc_id: str) -> list[Document | LoadError]:
    ext = Path(label).suffix.lower()
    if ext not in SUPPORTED:
        return [LoadError(label, f"unsupported file type '{ext or 'no extension'}' (allowed: {', '.join(UPLOAD_EXT)})")]
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [LoadError(label, f"file too large ({size / 1e6:.1f} MB > {MAX_FILE_BYTES // (1024 * 1024)} MB limit)")]
        with open(path, "rb") as fh:  # the upload's temp path from the web framework, never the user's name
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return [LoadError(label, f"cannot read the upload: {exc.strerror or exc}")]
    if len(data) > MAX_FILE_BYTES:
        return [LoadError(label, f"file too large (> {MAX_FILE_BYTES // (1024 * 1024)} MB limit)")]
    return list(load_bytes(data, label, doc_id=doc_id, source="upload", path=label))


def add_uploads(
    store,
    files: Iterable[str | Path | tuple[str, str | Path]],
    progress: Callable[[int, int, str], None] | None = None,
) -> AddReport:
    """Index uploaded files. `files`: temp paths, or (original name, temp path) pairs.

    The original name (or the temp path's basename) is only used, sanitised, as the label
    and doc id `upload/<name>`. `progress(done, total, label)` is called per file.
    """
    items: list[tuple[str, Path]] = []
    for f in files or []:
        if isinstance(f, tuple):
            items.append((str(f[0]), Path(f[1])))
        else:
            items.append((Path(str(f)).name, Path(str(f))))
    report = AddReport()
    if len(items) > MAX_FILES:
        for name, _ in items[MAX_FILES:]:
            report.skipped.append(LoadError(safe_name(name), f"too many files in one upload (limit {MAX_FILES}); add it in another upload"))
        items = items[:MAX_FILES]
    used: set[str] = set()
    total = len(items)
    for i, (name, path) in enumerate(items):
        label = _unique(safe_name(name), used)
        if progress:
            progress(i, total, label)
        docs: list[Document] = []
        for item in _load_upload(path, label, doc_id=f"upload/{label}"):
            if isinstance(item, LoadError):
                report.skipped.append(item)
            else:
                docs.append(item)
        if docs:
            try:
                store.add_documents(docs, report, save=False)
            except Exception as exc:  # an indexing failure of one file must not lose the others
                report.skipped.append(LoadError(label, f"indexing failed: {exc}"))
    if progress:
        progress(total, total, "")
    if total:
        store.save()
    return report


def add_text(store, title: str, text: str) -> AddReport:
    """Index pasted text as the article `pasted/<title>` (title required)."""
    report = AddReport()
    title = " ".join(str(title or "").split())
    label = safe_name(re.sub(r"[\\/]", "_", title), default="")  # a title is no path: keep all of it
    if not title or not label:
        report.skipped.append(LoadError("pasted text", "a title is needed"))
        return report
    text = str(text or "")
    if not text.strip():
        report.skipped.append(LoadError(label, "the text is empty"))
        return report
    if len(text) > MAX_PASTE_CHARS:
        report.skipped.append(LoadError(label, f"text too long ({len(text)} characters > {MAX_PASTE_CHARS})"))
        return report
    data = f"{title}\n\n{text.strip()}\n".encode("utf-8")
    docs = []
    for item in load_bytes(data, label + ".txt", doc_id=f"pasted/{label}", source="pasted", path=f"pasted/{label}"):
        if isinstance(item, LoadError):
            report.skipped.append(LoadError(label, item.reason))
        else:
            docs.append(item)
    if docs:
        store.add_documents(docs, report)
    return report


def describe(report: AddReport) -> str:
    """A plain-text summary: what was added and, per file, what was skipped and why (one line
    each, whatever the names: non-printable characters are escaped)."""
    lines = [
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
        f"skipped {len(report.skipped)}; {report.chunks} chunks indexed"
    ]
    lines += [f"  + {printable(d)}" for d in report.added + report.replaced]
    lines += [f"  = {printable(d)} (already indexed, unchanged)" for d in report.unchanged]
    lines += [f"  skipped {printable(e.path)}: {printable(e.reason)}" for e in report.skipped]
    return "\n".join(lines)
