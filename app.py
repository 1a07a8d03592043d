"""The web page: chat over the indexed articles with cited sources, add/remove articles, settings.

    python app.py [--port 7860] [--index-dir DIR] [--host 127.0.0.1]
    python app.py --qa-url http://HOST:8000      # answers from `python -m qa serve` there (qa/remote.py)

Serves on 127.0.0.1 only, unless --host names another address; then a password is required
(QA_AUTH=user:password) and the server refuses to start without one. Never makes share links.

This file is only the page: answering lives in qa/, indexing in index/. Every piece of article
text (titles, passages, quotes, answers, file names) is shown as text: it goes through
html.escape before it reaches the page, never in as HTML.
"""
from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from types import SimpleNamespace

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr  # noqa: E402

import index  # noqa: E402
from index import ingest  # noqa: E402
from index.config import env as index_env  # noqa: E402
from qa import QA, BadQuestion, Filters, Settings, answer_json, bound_history  # noqa: E402
from index.filtering import checked  # noqa: E402
from qa.access import server_auth  # noqa: E402  (one rule for every server here)
from qa.validate import check_k as qa_check_k, check_question as qa_check_question, parse_history as qa_parse_history  # noqa: E402
from qa.config import GENERATORS, field_range  # noqa: E402
from qa.remote import RemoteError, RemoteQA, connect as connect_remote  # noqa: E402

log = logging.getLogger("app")

K_RANGE = field_range("k")  # the slider and the /ask API offer the same passages
TOKENS_RANGE = field_range("max_new_tokens")  # the answer-length slider
TOKENS_STEP = 8  # the answer-length slider moves in steps of this many tokens
# One question at a time: the reader answers one question at a time anyway, so a second asker
# waits in Gradio's queue, which shows its place ("queue: 2/3") on the page, instead of waiting
# silently inside the model; the answer deadline (Settings.answer_seconds) starts when its turn does.
CHAT_CONCURRENCY = 1
_CITE = re.compile(r"\[(\d{1,3})\]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~$])")

CSS = """
#sources .src-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin: 8px 0; background: var(--block-background-fill); scroll-margin-top: 80px; transition: box-shadow .3s; }
#sources .src-card.src-flash { box-shadow: 0 0 0 3px var(--color-accent); }
#sources .src-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
#sources .src-num { font-weight: 700; color: var(--color-accent); }
#sources .src-title { font-weight: 600; }
#sources .src-meta, #sources .src-score { font-size: 0.85em; color: var(--body-text-color-subdued); }
#sources .src-score { margin-left: auto; }
#sources .src-passage { margin-top: 6px; white-space: pre-wrap; line-height: 1.45; font-size: 0.93em; }
#sources mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
#sources .src-note { color: var(--body-text-color-subdued); font-style: italic; }
"""

# Clicking [n] in an answer scrolls its source card into view (and flashes it).
JS = """
() => {
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a[href^="#src-"]') : null;
    if (!a) return;
    const card = document.getElementById(a.getAttribute('href').slice(1));
    if (!card) return;
    ev.preventDefault();
    ev.stopPropagation();
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.add('src-flash');
    setTimeout(() => card.classList.remove('src-flash'), 1600);
  }, true);
}
"""


# ---- rendering (pure functions: text in, safe markup out) -------------------------------------
def esc(text) -> str:
    return html.escape(str(text or ""), quote=True)


def md_text(text: str) -> str:
    """Untrusted text for the (markdown) chat box: HTML-escaped, markdown syntax neutralised.

    Only & < > are escaped: quotes need no escaping outside an attribute, and their entities
    (&#x27;) would have their '#' escaped for markdown and show up literally in the chat."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text or ""), quote=False))


def chat_markdown(text: str, n_sources: int = 0) -> str:
    """An answer for the chat box; [n] markers (n <= n_sources) become links to source card n."""
    out, pos = [], 0
    for m in _CITE.finditer(text or ""):
        n = int(m.group(1))
        if 1 <= n <= n_sources:
            out.append(md_text(text[pos : m.start()]))
            out.append(f'<a href="#src-{n}" class="cite">[{n}]</a>')
            pos = m.end()
    out.append(md_text((text or "")[pos:]))
    return "".join(out)


def _highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with the supporting quote inside <mark>."""
    passage, quote = passage or "", (quote or "").strip()
    if quote:
        i = passage.find(quote)
        if i < 0:  # tolerate whitespace differences between quote and passage
            pat = r"\s+".join(re.escape(w) for w in quote.split())
            m = re.search(pat, passage)
            span = (m.start(), m.end()) if m else None
        else:
            span = (i, i + len(quote))
        if span:
            a, b = span
            return f"{esc(passage[:a])}<mark>{esc(passage[a:b])}</mark>{esc(passage[b:])}"
        return f'{esc(passage)}<div class="src-quote">Supporting quote: <mark>{esc(quote)}</mark></div>'
    return esc(passage)


def sources_html(answer, turn: int = 0) -> str:
    """Numbered source cards (id="src-n") for an Answer; all article text escaped.

    The wrapper's data-turn tells which chat turn the cards belong to (0: none yet).
    """
    return f'<div class="src-list" data-turn="{int(turn)}">{_sources_body(answer)}</div>'


def _read_as(answer) -> str:
    """A note of the question's words read as the articles spell them ("Ericson" as "Ericsson"), or ''."""
    if not answer.trace.respelt:
        return ""
    read = ", ".join(f"“{esc(a)}” as “{esc(b)}”" for a, b in answer.trace.respelt.items())
    return f'<div class="src-note src-read-as">Read {read}.</div>'


def _sources_body(answer) -> str:
    if answer is None:
        return '<div class="src-note">Sources of the answer appear here.</div>'
    return _read_as(answer) + _cards(answer)


def _cards(answer) -> str:
    if getattr(answer, "declined", False) and not answer.citations:
        why = answer.trace.declined_because
        why = f" Why: {esc(why)}." if why else ""
        return f'<div class="src-note">No indexed article answers this question, so nothing is cited.{why}</div>'
    cards = []
    for c in answer.citations:
        meta = " · ".join(esc(x) for x in (c.source, c.date, c.doc_id) if x)
        cards.append(
            f'<div class="src-card" id="src-{int(c.number)}">'
            f'<div class="src-head"><span class="src-num">[{int(c.number)}]</span>'
            f'<span class="src-title">{esc(c.title) or esc(c.doc_id)}</span>'
            f'<span class="src-meta">{meta}</span>'
            f'<span class="src-score">score {float(c.score):.3f}</span></div>'
            f'<div class="src-passage">{_highlight(c.passage, c.quote)}</div></div>'
        )
    if not cards:
        return '<div class="src-note">This answer has no cited sources.</div>'
    head = f'<div class="src-note">{len(cards)} source{"s" if len(cards) != 1 else ""}'
    if getattr(answer, "seconds", 0):
        head += f" · answered in {answer.seconds:.1f} s"
    return head + "</div>" + "".join(cards)


def chat_messages(pairs: list, pending: str | None = None, partial: str = "", last_sources: int = 0) -> list[dict]:
    """The chat box's messages from (question, answer) pairs; only the newest answer links to cards."""
    msgs = []
    for i, (q, a) in enumerate(pairs):
        msgs.append({"role": "user", "content": md_text(q)})
        linked = last_sources if (i == len(pairs) - 1 and pending is None) else 0
        msgs.append({"role": "assistant", "content": chat_markdown(a, linked)})
    if pending is not None:
        msgs.append({"role": "user", "content": md_text(pending)})
        msgs.append({"role": "assistant", "content": md_text(partial) if partial else "…"})
    return msgs


# ---- input checking --------------------------------------------------------------------------
def make_filters(source: str | None, title: str | None, date_from: str | None, date_to: str | None) -> Filters:
    """The page's filter fields as Filters, checked by the store's own rules (a clear message at once)."""
    clean = lambda s: (str(s).strip() or None) if s else None  # noqa: E731
    src = clean(source)
    if src in ("(any)",):
        src = None
    f = Filters(source=src, title=clean(title), date_from=clean(date_from), date_to=clean(date_to))
    try:
        checked(f)
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    return f


def parse_history(history, settings: Settings | None = None) -> list[tuple[str, str]]:
    """History for the API (qa.parse_history: JSON pairs or chat messages, bounded), else a message on the page."""
    try:
        return qa_parse_history(history, settings)
    except BadQuestion as exc:
        raise gr.Error(str(exc)) from None


def check_question(question, settings: Settings | None = None, count_tokens: bool = True) -> str:
    """The question within the limits of `settings` (qa.check_question), else a message on the page."""
    try:
        return qa_check_question(question, settings, count_tokens)
    except BadQuestion as exc:
        raise gr.Error(str(exc)) from exc


# ---- the page: what it shows of the index ----------------------------------------------------
def doc_table(store) -> list[list]:
    return [[d["doc_id"], d["title"], d["source"] or "", d["date"] or "", d["chunks"]] for d in store.documents()]


def source_choices(store) -> list[str]:
    docs = store.documents()
    names = {d["source"] for d in docs if d["source"]} | {d["doc_id"].split("/")[0] for d in docs if "/" in d["doc_id"]}
    return ["(any)"] + sorted(names)


def refreshed(store, status: str | None = None) -> list:
    """New values for the article listing (table, remove list, source filter, summary), after `status`."""
    s = store.stats()
    out = [
        gr.update(value=doc_table(store)),
        gr.update(choices=[d["doc_id"] for d in store.documents()], value=None),
        gr.update(choices=source_choices(store)),
        f"{s['documents']} articles, {s['chunks']} chunks indexed",
    ]
    return ([status] if status is not None else []) + out


# ---- the page: handlers (no layout) ----------------------------------------------------------
def check_k(k) -> int:
    """k for the /ask API (qa.check_k: the range the page's slider offers), else a message on the page."""
    try:
        return qa_check_k(k)
    except BadQuestion as exc:
        raise gr.Error(str(exc)) from None


def chat_handlers(qa: QA | RemoteQA, defaults: Settings) -> SimpleNamespace:
    """respond (a chat turn, streamed into the chat box) and new_chat."""
    local = qa.store is not None  # a remote server counts the question's tokens with its own reader

    def respond(message, pairs, k, max_new, model, f_source, f_title, f_from, f_to):
        pairs = list(pairs or [])
        if model not in GENERATORS:
            raise gr.Error(f"unknown model {model!r}")
        q = check_question(message, defaults.with_(generator=model), count_tokens=local)
        filters = make_filters(f_source, f_title, f_from, f_to)
        yield chat_messages(pairs, q), pairs, '<div class="src-note src-pending">Searching the articles…</div>', ""
        answer, partial = None, ""
        try:
            for item in qa.ask_stream(q, history=pairs, k=int(k), max_new_tokens=int(max_new), generator=model, filters=filters):
                if isinstance(item, str):
                    partial += item
                    yield chat_messages(pairs, q, partial), pairs, gr.update(), ""
                else:
                    answer = item
        except (RemoteError, BadQuestion) as exc:  # busy, unreachable, refused: its text is for the person
            answer, partial = None, str(exc)
        except Exception as exc:  # show the failure in the chat instead of a broken page
            log.exception("answering failed")
            answer, partial = None, f"Sorry, answering failed: {exc}"
        yield finished_turn(pairs, q, answer, partial)

    def new_chat():
        return [], [], sources_html(None), ""

    return SimpleNamespace(respond=respond, new_chat=new_chat)


def finished_turn(pairs: list, q: str, answer, partial: str) -> tuple:
    """The chat box, history, sources and cleared question once a turn ends (answer None: no Answer came)."""
    if answer is None:
        pairs = pairs + [(q, partial or "Sorry, no answer was produced.")]
        return chat_messages(pairs), pairs, sources_html(None, len(pairs)), ""
    pairs = pairs + [(q, answer.text)]
    return chat_messages(pairs, last_sources=len(answer.citations)), pairs, sources_html(answer, len(pairs)), ""


def article_handlers(store) -> SimpleNamespace:
    """add_files, add_pasted, remove_doc and on_load: each returns the refreshed listing."""

    def add_files(files, progress=gr.Progress()):
        if not files:
            return refreshed(store, "Choose one or more files first.")
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files]
        progress(0, desc="indexing…")

        def cb(done, total, label):
            progress((done, total), desc=f"indexing {label}" if label else "saving", unit="files")

        report = ingest.add_uploads(store, paths, progress=cb)
        return refreshed(store, ingest.describe(report))

    def add_pasted(title, text, progress=gr.Progress()):
        progress(0, desc="indexing pasted text…")
        report = ingest.add_text(store, title, text)
        status = ingest.describe(report)
        cleared = ("", "") if (report.added or report.replaced or report.unchanged) else (gr.update(), gr.update())
        return (*refreshed(store, status), *cleared)

    def remove_doc(doc_id):
        if not doc_id:
            return refreshed(store, "Choose an article to remove.")
        n = store.remove(doc_id)
        return refreshed(store, f"removed {doc_id} ({n} chunks)" if n else f"no article {doc_id} in the index")

    def on_load():
        return refreshed(store)

    return SimpleNamespace(add_files=add_files, add_pasted=add_pasted, remove_doc=remove_doc, on_load=on_load)


def ask_api(qa: QA | RemoteQA, defaults: Settings):
    """The API for scripts: gradio_client.Client(url).predict(question, history_json, k, api_name="/ask")."""
    local = qa.store is not None  # as in chat_handlers

    def ask(question: str, history_json: str = "", k: int = defaults.k) -> dict:
        """Answer a question from the indexed articles. history_json: JSON [[question, answer], ...] of
        earlier turns (or ""). Returns the Answer (text with [n] markers, citations, declined...) as JSON."""
        q = check_question(question, defaults, count_tokens=local)
        k = check_k(k)
        try:
            return answer_json(qa.ask(q, history=parse_history(history_json, defaults), k=k))
        except (RemoteError, BadQuestion) as exc:
            raise gr.Error(str(exc)) from None

    return ask


# ---- the page: layout ------------------------------------------------------------------------
def chat_tab(defaults: Settings, remote: bool = False) -> SimpleNamespace:
    """The chat column (answers, question, sources) and the settings column (k, length, model, filters).
    remote: the server's reader decides the answer length and model (shown, not changeable)."""
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Answers", elem_id="chat", height=320, latex_delimiters=[],
                sanitize_html=True, feedback_options=None, buttons=["copy"],
            )
            with gr.Row():
                question = gr.Textbox(
                    placeholder="Ask a question about the articles…", show_label=False,
                    elem_id="question", scale=5, max_lines=4, submit_btn=False,
                )
                send = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
            new = gr.Button("New chat", elem_id="new-chat", size="sm")
            gr.Markdown("### Sources")
            sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Column(scale=1, min_width=240):
            gr.Markdown("### Settings")
            k = gr.Slider(*K_RANGE, value=defaults.k, step=1, label="Passages (k)", elem_id="k")
            max_new = gr.Slider(*TOKENS_RANGE, value=defaults.max_new_tokens, step=TOKENS_STEP, label="Answer length (max new tokens)", interactive=not remote)
            model = gr.Dropdown(list(GENERATORS), value=defaults.generator if defaults.generator in GENERATORS else GENERATORS[0], label="Model",
                                interactive=not remote, info="set by the question server" if remote else None)
            gr.Markdown("**Filters**")
            f_source = gr.Dropdown(["(any)"], value="(any)", label="Source / category", allow_custom_value=True)
            f_title = gr.Textbox(label="Title words", placeholder="e.g. election")
            with gr.Row():
                f_from = gr.Textbox(label="Date from", placeholder="YYYY-MM-DD", min_width=100)
                f_to = gr.Textbox(label="Date to", placeholder="YYYY-MM-DD", min_width=100)
    return SimpleNamespace(chatbot=chatbot, question=question, send=send, new=new, sources=sources, k=k, max_new=max_new,
                           model=model, f_source=f_source, f_title=f_title, f_from=f_from, f_to=f_to)


def articles_tab() -> SimpleNamespace:
    """Upload files, paste a text, the indexing report, the article table and removal."""
    summary = gr.Markdown(elem_id="index-summary")
    with gr.Row():
        with gr.Column():
            files = gr.File(
                label=f"Upload articles ({', '.join(ingest.UPLOAD_EXT)}; up to {ingest.MAX_FILES} files, "
                f"{ingest.MAX_FILE_BYTES // (1024 * 1024)} MB each)",
                file_count="multiple", file_types=ingest.UPLOAD_EXT, type="filepath", elem_id="upload",
            )
            add_btn = gr.Button("Add files", variant="primary", elem_id="add-files")
        with gr.Column():
            p_title = gr.Textbox(label="Title", elem_id="paste-title")
            p_text = gr.Textbox(label="Article text", lines=6, elem_id="paste-text")
            paste_btn = gr.Button("Add text", elem_id="add-text")
    status = gr.Textbox(label="Indexing report", lines=5, interactive=False, elem_id="index-status")
    table = gr.Dataframe(
        headers=["doc id", "title", "source", "date", "chunks"], datatype=["str", "str", "str", "str", "number"],
        interactive=False, label="Indexed articles", elem_id="docs", wrap=True,
    )
    with gr.Row():
        rm_id = gr.Dropdown([], label="Article to remove", allow_custom_value=False, scale=4)
        rm_btn = gr.Button("Remove", variant="stop", scale=1)
    return SimpleNamespace(summary=summary, files=files, add_btn=add_btn, p_title=p_title, p_text=p_text, paste_btn=paste_btn,
                           status=status, table=table, rm_id=rm_id, rm_btn=rm_btn)


# ---- the page: wiring ------------------------------------------------------------------------
def wire_chat(chat: SimpleNamespace, pairs, h: SimpleNamespace) -> None:
    inputs = [chat.question, pairs, chat.k, chat.max_new, chat.model, chat.f_source, chat.f_title, chat.f_from, chat.f_to]
    outputs = [chat.chatbot, pairs, chat.sources, chat.question]
    ev = dict(fn=h.respond, inputs=inputs, outputs=outputs, api_visibility="undocumented",
              concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")
    chat.send.click(**ev)
    chat.question.submit(**ev)
    chat.new.click(h.new_chat, None, outputs, api_visibility="undocumented")
    chat.chatbot.clear(h.new_chat, None, outputs, api_visibility="undocumented")


def wire_articles(demo: gr.Blocks, arts: SimpleNamespace, f_source, h: SimpleNamespace) -> None:
    listing = [arts.table, arts.rm_id, f_source, arts.summary]
    idx = dict(api_visibility="undocumented", concurrency_limit=1, concurrency_id="index", show_progress_on=[arts.status])
    arts.add_btn.click(h.add_files, [arts.files], [arts.status, *listing], **idx).then(
        lambda: None, None, [arts.files], api_visibility="private"
    )
    arts.paste_btn.click(h.add_pasted, [arts.p_title, arts.p_text], [arts.status, *listing, arts.p_title, arts.p_text], **idx)
    arts.rm_btn.click(h.remove_doc, [arts.rm_id], [arts.status, *listing], **idx)
    demo.load(h.on_load, None, listing, api_visibility="undocumented")


def build_app(qa: QA | RemoteQA) -> gr.Blocks:
    """The page over a local QA, or over a RemoteQA (no store: no article controls at all)."""
    defaults = getattr(qa, "settings", None) or Settings()
    remote = qa.store is None
    with gr.Blocks(title="News QA") as demo:
        gr.Markdown("## News QA\nAsk about the indexed news articles; every answer cites the passages it comes from.")
        pairs = gr.State([])
        with gr.Tab("Chat"):
            chat = chat_tab(defaults, remote)
        with gr.Tab("Articles"):
            if remote:
                gr.Markdown(f"Answers come from the question server at {md_text(qa.url)}. Its articles are added and "
                            "removed where it runs (`python -m index add|remove`), not here.", elem_id="remote-note")
            else:
                arts = articles_tab()
        wire_chat(chat, pairs, chat_handlers(qa, defaults))
        if not remote:
            wire_articles(demo, arts, chat.f_source, article_handlers(qa.store))
        gr.api(ask_api(qa, defaults), api_name="ask", concurrency_limit=CHAT_CONCURRENCY, concurrency_id="chat")
    return demo


def launch_kwargs() -> dict:
    """Options shared by main() and the tests."""
    theme = gr.themes.Soft(
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )  # system fonts: the page makes no requests to font CDNs
    return dict(
        share=False, css=CSS, js=JS, theme=theme, max_file_size=ingest.MAX_FILE_BYTES,
        footer_links=["api"], ssr_mode=False, mcp_server=False, show_error=True,
    )


def warm_up(qa: QA) -> None:
    """Load the models in the background so the first question does not wait for them."""
    try:
        qa.load_models()
    except Exception as exc:  # the first question will report it
        log.warning("could not preload the models: %s", exc)


@dataclass(frozen=True)
class AppEnv:
    """The page's environment variables, read once, by main() (the index's, $QA_INDEX_DIR among them: index/config.py)."""

    port: int = 7860  # GRADIO_SERVER_PORT: the port to serve on (--port wins)
    auth: str | None = None  # QA_AUTH: user:password; required to serve on anything but loopback
    qa_url: str | None = None  # QA_URL: answer through `python -m qa serve` at this URL, no local index (--qa-url wins)


def read_app_env(environ=None) -> AppEnv:
    e = os.environ if environ is None else environ
    return AppEnv(port=int(e.get("GRADIO_SERVER_PORT") or AppEnv.port), auth=e.get("QA_AUTH"), qa_url=e.get("QA_URL") or None)


def main(argv=None) -> int:
    env = read_app_env()
    ap = argparse.ArgumentParser(description="News QA web page")
    ap.add_argument("--port", type=int, default=env.port, help=f"port (default $GRADIO_SERVER_PORT or {AppEnv.port})")
    ap.add_argument("--index-dir", default=None, help="index folder (default $QA_INDEX_DIR or indexes/default)")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback needs QA_AUTH=user:password")
    ap.add_argument("--no-warmup", action="store_true", help="do not preload the models at start")
    ap.add_argument("--qa-url", default=env.qa_url, help="answer through the question API of `python -m qa serve` at this URL "
                    "(http://[USER:PASSWORD@]HOST:PORT; else QA_AUTH is sent) instead of a local index and reader (default $QA_URL)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        auth = server_auth(args.host, env.auth)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.qa_url:
        if args.index_dir is not None:
            print("error: --qa-url and --index-dir exclude each other: the question server opens its own index", file=sys.stderr)
            return 2
        try:
            qa = connect_remote(args.qa_url, auth=auth)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        what = f"answers from {qa.url}"
    else:
        try:
            if args.index_dir is None and not index_env().index_dir:
                store = index.ensure_default_index()
            else:
                store = index.open_index(args.index_dir)
        except index.IndexError_ as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        qa, what = QA(store=store), f"{store.stats()['documents']} articles from {store.path}"
        if not args.no_warmup:
            threading.Thread(target=warm_up, args=(qa,), daemon=True).start()
    demo = build_app(qa)
    demo.queue(default_concurrency_limit=1)
    print(f"serving {what} on http://{args.host}:{args.port}", flush=True)
    demo.launch(server_name=args.host, server_port=args.port, auth=auth, **launch_kwargs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
