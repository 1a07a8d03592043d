"""python -m eval.retype QUESTIONS.jsonl HOW OUT.jsonl: the same questions as people also type them.

HOW is one of TYPINGS: "lower" (no capitals), "capitals" (caps lock on) or "request" (wrapped in
"Can you tell me ..."). Answers, documents and types stay as they are, so a report on the retyped
file reads against the report on the original: what the typing alone changes.
"""
from __future__ import annotations

import json
import sys

TYPINGS = {
    "lower": str.lower,
    "capitals": str.upper,
    "request": lambda t: "Can you tell me " + t[:1].lower() + t[1:],
}


def retype(src: str, how: str, out: str) -> int:
    """Write src's questions typed `how` to out; the number written."""
    n = 0
    with open(src, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        for line in f:
            if line.strip():
                q = json.loads(line)
                q["question"] = TYPINGS[how](q["question"])
                g.write(json.dumps(q, ensure_ascii=False) + "\n")
                n += 1
    return n


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in TYPINGS:
        sys.exit(__doc__)
    print(retype(*sys.argv[1:]))
