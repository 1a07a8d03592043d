"""Filters (plain data, index.records.Filters) → the store's SQL. Private to the index: callers
pass a Filters, never SQL; every value is checked here and bound as a parameter."""
from __future__ import annotations

import datetime as _dt
import re

from .records import Filters

_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def like_literal(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_date(name: str, value: object) -> str:
    text = value.strip() if isinstance(value, str) else value
    ok = isinstance(text, str) and _DATE.fullmatch(text)
    if ok:
        y, m, d = (text.split("-") + ["01", "01"])[:3]
        try:
            _dt.date(int(y), int(m), int(d))
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(f"filter {name} must be an ISO date yyyy-mm-dd (or yyyy-mm, yyyy), not {value!r}")
    return text


def checked(filters: Filters | None) -> Filters | None:
    """The filters with dates stripped, or None when they filter nothing; ValueError for a bad value."""
    if filters is None:
        return None
    if not isinstance(filters, Filters):
        raise ValueError(f"filters must be index.records.Filters, not {type(filters).__name__}")
    for name in ("source", "title"):
        v = getattr(filters, name)
        if v is not None and not isinstance(v, str):
            raise ValueError(f"filter {name} must be text, not {type(v).__name__}")
    if filters.empty():
        return None
    lo = _check_date("date_from", filters.date_from) if filters.date_from else None
    hi = _check_date("date_to", filters.date_to) if filters.date_to else None
    if lo and hi and lo[: len(hi)] > hi:
        raise ValueError(f"filter date_from {lo} is after date_to {hi}: no date is in that range")
    return Filters(source=filters.source, title=filters.title, date_from=lo, date_to=hi)


def where_sql(filters: Filters | None) -> tuple[str, tuple]:
    """(" AND ..." conditions on the `documents` table, their parameters); ("", ()) for no filter."""
    f = checked(filters)
    if f is None:
        return "", ()
    parts, params = [], []
    if f.source:
        parts.append("(documents.source = ? OR documents.doc_id LIKE ? ESCAPE '\\')")
        params += [f.source, like_literal(f.source.rstrip("/")) + "/%"]
    for w in (f.title or "").split():
        parts.append("documents.title LIKE ? ESCAPE '\\'")
        params.append(f"%{like_literal(w)}%")
    if f.date_from:
        parts.append("documents.date != '' AND documents.date >= ?")
        params.append(f.date_from)
    if f.date_to:  # compared at the filter's precision: "2024-05" takes in the whole of May
        parts.append("documents.date != '' AND substr(documents.date, 1, ?) <= ?")
        params += [len(f.date_to), f.date_to]
    return "".join(f" AND {p}" for p in parts), tuple(params)
