"""The page in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

Upload articles, ask, watch the answer stream in with its source card; article text with
<script>/<img onerror> shows as text and never runs; [n] brings card n into view; New chat clears.
Screenshot of the page answering a question about the example article: written to
docs/screenshot.png when UPDATE_SCREENSHOT=1 (so test runs leave the committed one alone),
else to a temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "docs" / "screenshot.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} not found: the browser tests need Debian's chromium (run `bash scripts/ensure-chromium.sh` as root, "
        "or `apt-get install chromium`)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

BRIDGE = (
    "Exampleton opens its new river bridge\n\n"
    "The new Exampleton river bridge opened to traffic on Monday after two years of building work. "
    "The bridge cost 40 million pounds and carries four lanes of traffic across the River Exe.\n\n"
    "The mayor, Jane Porter, said the crossing would cut journey times across the town by twenty minutes.\n"
)
EVIL_TITLE = "Ferry news <script>window.__pwned=1</script> update"
EVIL_TEXT = (
    'The Lakeside ferry service will resume on 3 June, the harbour master said <img src=x onerror="window.__pwned=2">. '
    "Tickets go on sale next week. Template ${7*7} and {{value}} stay literal."
)


@pytest.fixture(scope="module")
def server():
    from app_server import shared_server

    return shared_server()


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 860})
        pg.set_default_timeout(30_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(server.url)
        pg.wait_for_selector("#question textarea")
        pg.js_errors = errors
        # record every text the newest answer shows, to see it stream in
        pg.evaluate(
            """() => { window.__states = [];
            new MutationObserver(() => {
              const m = document.querySelectorAll('#chat .message.bot');
              if (!m.length) return;
              const t = m[m.length - 1].innerText.trim();
              if (t && window.__states[window.__states.length - 1] !== t) window.__states.push(t);
            }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true}); }"""
        )
        yield pg
        browser.close()


def ask(page, question: str, turn: int) -> str:
    """Ask in the chat box; wait for the final sources of chat turn `turn`; return the answer's text."""
    page.get_by_role("tab", name="Chat").click()
    page.evaluate("window.__states = []")
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector(f'#sources .src-list[data-turn="{turn}"]', timeout=90_000)
    return page.locator("#chat .message.bot").last.inner_text()


def test_upload_then_ask_streams_answer_with_source_card(page, tmp_path):
    (tmp_path / "bridge.txt").write_text(BRIDGE)
    (tmp_path / "scan.pdf").write_bytes(b"this is not really a PDF")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#upload input[type=file]", [str(tmp_path / "bridge.txt"), str(tmp_path / "scan.pdf")])
    page.wait_for_timeout(500)
    page.click("#add-files")
    page.wait_for_function("document.querySelector('#index-status textarea').value.includes('added')")
    status = page.input_value("#index-status textarea")
    assert "+ upload/bridge.txt" in status
    assert "skipped scan.pdf: not a PDF" in status  # a clear message per skipped file
    page.wait_for_function("document.querySelector('#docs').innerText.includes('upload/bridge.txt')")

    text = ask(page, "How much did the Exampleton bridge cost?", turn=1)
    states = page.evaluate("window.__states")
    partial = [s for s in states if s not in ("…", text)]
    assert len(partial) >= 2, f"answer did not stream: {states}"  # several growing texts before the final one
    assert "40 million" in text and "[1]" in text, text
    card = page.locator("#sources #src-1")
    assert "Exampleton opens its new river bridge" in card.inner_text()
    assert "upload/bridge.txt" in card.inner_text()
    assert "40 million pounds" in card.locator("mark").inner_text()  # the supporting quote is highlighted
    assert "score" in card.inner_text()


def test_article_text_shows_as_text_and_never_runs(page):
    page.get_by_role("tab", name="Articles").click()
    page.fill("#paste-title textarea, #paste-title input", EVIL_TITLE)
    page.fill("#paste-text textarea", EVIL_TEXT)
    page.click("#add-text")
    page.wait_for_function("document.querySelector('#index-status textarea').value.includes('pasted/')")
    assert "+ pasted/" in page.input_value("#index-status textarea")
    page.wait_for_function("document.querySelector('#docs').innerText.includes('Ferry news')")
    assert "<script>window.__pwned=1</script>" in page.locator("#docs").inner_text()

    text = ask(page, "When will the Lakeside ferry service resume?", turn=2)
    assert "3 June" in text, text
    src = page.locator("#sources").inner_text()
    assert "<script>window.__pwned=1</script>" in src  # the literal text is visible...
    assert '<img src=x onerror="window.__pwned=2">' in src
    assert "${7*7} and {{value}}" in src
    assert page.locator("#sources script, #sources img, #docs script, #chat script").count() == 0  # ...not markup
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"  # and nothing ran
    assert not page.js_errors, page.js_errors


def test_example_article_answer_citation_link_and_new_chat(page, tmp_path):
    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .message').length === 0")
    page.wait_for_selector('#sources .src-list[data-turn="0"]')
    q = "What did the Home Office review find?"
    text = ask(page, q, turn=1)
    assert "[1]" in text and "Home Office" in text, text
    assert "home-office-rotherham-review.txt" in page.locator("#sources #src-1").inner_text()

    # the screenshot for the docs: the page answering a question about the example article
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(400)
    shot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert 20_000 < shot.stat().st_size < 400_000

    # clicking [1] in the answer brings card 1 into view
    in_view = "() => { const r = document.getElementById('src-1').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }"
    page.set_viewport_size({"width": 1280, "height": 500})  # the card starts below the fold
    page.evaluate("window.scrollTo(0, 0)")
    assert not page.evaluate(in_view)
    page.locator('#chat a[href="#src-1"]').last.click()
    page.wait_for_function(in_view, timeout=5_000)
    page.set_viewport_size({"width": 1280, "height": 860})

    # a follow-up is a second turn of the same chat; only the newest answer links to the cards
    ask(page, "Who ordered the review?", turn=2)
    assert page.locator("#chat .message.user").count() == 2
    assert page.locator("#chat .message.bot").first.locator('a[href^="#src-"]').count() == 0

    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .message').length === 0")
    assert "Sources of the answer appear here" in page.locator("#sources").inner_text()


OBRIEN = (
    "Tollbury names its footbridge\n\n"
    "The new footbridge in Tollbury was named O'Brien's Crossing after the town's first doctor, Mary O'Brien. "
    "It opened to walkers and cyclists on Friday.\n"
)


def test_apostrophes_read_normally_while_markup_stays_text(page, server):
    """The chat shows an answer's apostrophe and the decline text as written (not &#x27;), and a
    question holding <script> as text that never runs."""
    from index import Document

    server.store.add_documents([Document("upload/tollbury-footbridge.txt", "Tollbury names its footbridge", OBRIEN, source="upload")])
    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .message').length === 0")
    text = ask(page, "What was the new footbridge in Tollbury named?", turn=1)
    assert "O'Brien's Crossing" in text, text
    declined = ask(page, "Why did <script>window.__pwned=3</script> Mars's second moon melt?", turn=2)
    assert declined.strip() == "The indexed articles don't say.", declined
    chat = page.locator("#chat").inner_text()
    assert "&#x27;" not in chat and "&#39;" not in chat and "&amp;" not in chat and "&lt;" not in chat, chat
    assert "<script>window.__pwned=3</script> Mars's second moon" in page.locator("#chat .message.user").last.inner_text()
    assert page.locator("#chat script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    server.store.remove("upload/tollbury-footbridge.txt")


def test_a_second_asker_sees_a_queue_position_not_a_silent_wait(page, server):
    """While other questions are being answered, the page shows where this one waits ("queue: 2/2")."""
    from gradio_client import Client
    from gradio_client.utils import Status

    client = Client(server.url, verbose=False)
    jobs = [client.submit(q, "", 3, api_name="/ask") for q in (
        "Why did the Home Office fail to follow up the Rotherham reports?",
        "What has the Home Office introduced since 2014 for allegations of child abuse?",
    )]
    for _ in range(300):  # until the first one is being answered
        if any(j.status().code == Status.PROCESSING for j in jobs):
            break
        page.wait_for_timeout(50)
    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .message').length === 0")
    page.fill("#question textarea", "Which Home Secretary made a written statement to the Commons?")
    page.click("#ask")
    page.wait_for_function("/queue: \\d+\\/\\d+/.test(document.body.innerText)", timeout=15_000)
    page.wait_for_selector('#sources .src-list[data-turn="1"]', timeout=120_000)  # and then it is answered
    assert "Javid" in page.locator("#chat .message.bot").last.inner_text()
    for j in jobs:
        assert set(j.result(timeout=120)) >= {"text", "declined"}


def test_a_too_long_question_gets_a_clear_message(page):
    page.get_by_role("tab", name="Chat").click()
    page.fill("#question textarea", "Why " + "x" * 2500)
    page.click("#ask")
    page.wait_for_function("document.body.innerText.includes('The question is too long (2,504 characters; the limit is 2,000)')",
                           timeout=15_000)
