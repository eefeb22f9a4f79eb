"""The built book, opened in headless Chromium the way a reader opens it.

Needs the book built first (`bash .ci/book`, which `bash .ci/test` runs) and Debian's Chromium
at /usr/bin/chromium (installed by `.ci/setup --browser`). Playwright drives that browser;
it never downloads one. Screenshots of every page are written to _build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Pages Sphinx generates whose content is not the book's (they load fine and are checked for
# errors too, but have no figures or math to check).
CHAPTER = "notebooks/01_convolution.html"

pytestmark = pytest.mark.browser


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def _all_html() -> list[Path]:
    if not (HTML / "index.html").exists():
        pytest.fail(f"the book is not built: {HTML / 'index.html'} is missing; run `bash .ci/book` first")
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts)


def _pages() -> list[str]:
    """Every page with content (redirect stubs such as index.html are tested on their own)."""
    return [str(p.relative_to(HTML)) for p in _all_html() if not REDIRECT.search(p.read_text())]


def test_redirects_lead_to_a_page(server, browser):
    redirects = [p for p in _all_html() if REDIRECT.search(p.read_text())]
    assert [p.name for p in redirects] == ["index.html"]
    page = browser.new_page()
    page.goto(server + "index.html")
    page.wait_for_url("**/book/intro.html", timeout=10_000)
    assert page.title().startswith("From Convolution to U-Net")
    page.close()


@pytest.fixture(scope="module")
def server():
    """Serve _build/html on a free port of 127.0.0.1 for the duration of the module."""
    _pages()
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash .ci/setup --browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


class PageVisit:
    """One page opened in a fresh tab, with every console error and outside request recorded."""

    def __init__(self, browser, base: str, path: str, width: int = 1280):
        self.base, self.path = base, path
        self.errors: list[str] = []
        self.outside_requests: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.route("**/*", self._only_local)
        response = self.page.goto(urljoin(base, path), wait_until="load")
        if response is None or not response.ok:
            self.errors.append(f"HTTP {response.status if response else 'no response'} for {path}")
        self.wait_for_math()

    def _only_local(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:  # the book must work offline: nothing may come from a CDN
            self.outside_requests.append(url)
            route.abort()

    def wait_for_math(self) -> None:
        if self.page.locator(".math").count():
            self.page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                " && document.querySelectorAll('mjx-container').length > 0",
                timeout=20_000,
            )
            self.page.evaluate("() => MathJax.startup.promise")


def test_every_page_loads_offline_without_console_errors(server, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in _pages():
        visit = PageVisit(browser, server, path)
        visit.page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "_") + ".png")), full_page=True)
        assert visit.errors == [], f"{path}: {visit.errors}"
        assert visit.outside_requests == [], f"{path} asked for outside resources: {visit.outside_requests}"
        visit.page.close()


def test_every_image_loaded_and_has_alt_text(server, browser):
    for path in _pages():
        visit = PageVisit(browser, server, path)
        images = visit.page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({src: (e.currentSrc || e.src || '').slice(0, 80),"
            " alt: e.getAttribute('alt'), loaded: e.complete && e.naturalWidth > 0}))",
        )
        for image in images:
            assert image["loaded"], f"{path}: image did not load: {image['src']}"
            alt = (image["alt"] or "").strip()
            # Sphinx's default alt for a figure is its file name: that says nothing to a reader.
            assert alt and not alt.endswith((".png", ".svg", ".jpg")), f"{path}: image without alt text: {image}"
        visit.page.close()


def test_math_is_rendered(server, browser):
    pages_with_math = 0
    for path in _pages():
        visit = PageVisit(browser, server, path)
        math = visit.page.locator(".math").count()
        if math:
            pages_with_math += 1
            rendered = visit.page.locator(".math mjx-container, mjx-container.MathJax").count()
            assert rendered >= math, f"{path}: {math} formulas, {rendered} rendered by MathJax"
            assert visit.page.locator("mjx-merror").count() == 0, f"{path}: MathJax reported a TeX error"
        visit.page.close()
    assert pages_with_math >= 2  # the intro's notation and Chapter 1's formulas


def test_internal_links_and_anchors_resolve(server, browser):
    ids_of: dict[str, set[str]] = {}
    for path in _pages():
        visit = PageVisit(browser, server, path)
        hrefs = visit.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        ids_of[path] = set(visit.page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        visit.page.close()
        for href in hrefs:
            if not href.startswith(server):
                continue
            target, anchor = urldefrag(href)
            relative = unquote(urlparse(target).path).lstrip("/") or "index.html"
            if relative.endswith("/"):
                relative += "index.html"
            assert (HTML / relative).exists(), f"{path} links to a missing page: {href}"
            if anchor and relative.endswith(".html"):
                if relative not in ids_of:
                    ids_of[relative] = _ids(browser, server, relative)
                assert anchor in ids_of[relative], f"{path} links to a missing anchor: {href}"


def _ids(browser, server, path: str) -> set[str]:
    visit = PageVisit(browser, server, path)
    ids = set(visit.page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
    visit.page.close()
    return ids


def test_chapter_1_shows_animation_sobel_figures_and_timing_table(server, browser):
    visit = PageVisit(browser, server, CHAPTER)
    page = visit.page
    # The sliding-window animations: pressing "next frame" changes the image shown.
    frames = page.locator("img[id^='_anim_img']")
    assert frames.count() == 2
    first_frame = frames.first.get_attribute("src")
    page.locator(".anim-buttons button[onclick*='next_frame']").first.click()
    assert frames.first.get_attribute("src") != first_frame, "the animation did not step on click"
    # The Sobel results on the photograph: a rendered image whose alt text says what it shows.
    assert page.locator("img[alt*='cameraman']").count() == 1
    # The timing table, with a row for each implementation.
    table = page.locator("table", has_text="speed-up over loops")
    assert table.count() == 1
    text = table.inner_text()
    for name in ("conv2d_naive", "conv2d", "F.conv2d"):
        assert name in text
    # The Colab launch button points at the paired .ipynb.
    colab = page.locator("a[href*='colab.research.google.com']")
    assert colab.count() >= 1 and colab.first.get_attribute("href").endswith("notebooks/01_convolution.ipynb")
    # Solutions are hidden until the reader asks for them.
    hidden = page.locator("details.hide.above-input", has_text="Show the solution")
    assert hidden.count() == 3 and all(not d.evaluate("e => e.open") for d in hidden.all())
    page.close()
    # A phone-width view, for looking at (issue: figures readable on a phone).
    phone = PageVisit(browser, server, CHAPTER, width=390)
    assert phone.errors == []
    phone.page.screenshot(path=str(SCREENSHOTS / "phone_01_convolution.png"), full_page=False)
    phone.page.close()


def _animations_step_on_click(page, path: str, expected: int) -> None:
    """Every animation on the page shows a new frame when "next frame" is pressed."""
    frames = page.locator("img[id^='_anim_img']")
    assert frames.count() == expected, f"{path}: {frames.count()} animations, expected {expected}"
    buttons = page.locator(".anim-buttons button[onclick*='next_frame']")
    for index in range(expected):
        before = frames.nth(index).get_attribute("src")
        buttons.nth(index).click()
        assert frames.nth(index).get_attribute("src") != before, f"{path}: animation {index} did not step"


def _one_figure_each(page, *described: str) -> None:
    """Exactly one image whose alt text contains each description."""
    for words in described:
        assert page.locator(f"img[alt*='{words}']").count() == 1, words


def _solutions_hidden_then_open(page, path: str, expected: int) -> None:
    hidden = page.locator("details.hide.above-input", has_text="Show the solution")
    assert hidden.count() == expected, f"{path}: {hidden.count()} hidden solutions, expected {expected}"
    assert all(not d.evaluate("e => e.open") for d in hidden.all()), f"{path}: a solution starts open"
    hidden.first.locator("summary").click()
    assert hidden.first.evaluate("e => e.open"), f"{path}: the first solution did not open on click"
    assert hidden.first.locator("pre").first.is_visible()


def test_chapter_2_animations_widget_and_size_table(server, browser):
    path = "notebooks/02_padding_stride.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    _animations_step_on_click(page, path, expected=4)
    # The explorer, drawn from its saved state by the locally served widget JavaScript: six
    # sliders, the formula with numbers in it, and the figure with alt text.
    page.wait_for_selector(".widget-slider", timeout=20_000)
    assert page.locator(".widget-slider").count() == 6
    assert page.locator(".widget-html", has_text="output size =").count() == 1
    figure = page.locator(".widget-html img[alt*='kernel']")
    assert figure.count() == 1 and figure.evaluate("e => e.complete && e.naturalWidth > 0")
    # The grid check against PyTorch, and the padding-mode table with a row per mode.
    assert page.locator("table", has_text="formula = PyTorch").count() == 1
    modes = page.locator("table", has_text="padding mode").inner_text()
    for mode in ("zeros", "reflect", "replicate", "circular"):
        assert mode in modes
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()
    phone = PageVisit(browser, server, path, width=390)
    phone.page.screenshot(path=str(SCREENSHOTS / "phone_02_padding_stride.png"), full_page=False)
    phone.page.close()


def test_chapter_3_figures_parameter_table_and_solutions(server, browser):
    path = "notebooks/03_channels.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    _one_figure_each(page, "its red, green and blue channels", "learned kernel at steps", "random starting")
    # The deepest U-Net layer: 1024 * 1024 * 3 * 3 weights + 1024 biases.
    assert page.locator("table", has_text="9,438,208").count() == 1
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_7_trace_tables_figures_and_solutions(server, browser):
    path = "notebooks/07_unet.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    # The shape trace of the paper's network: Fig. 1's 572 in, 388 out.
    trace = page.locator("table", has_text="skip cropped").inner_text()
    assert "572 x 572" in trace and "388 x 388" in trace
    assert page.locator("table", has_text="multiply-adds").count() == 1
    assert page.locator("table", has_text="gradient through max-pool").count() == 1
    _one_figure_each(
        page,
        "56x56 square outlined",
        "distance from the crop",
        "Two bar charts",
        "The U-Net drawn as a U",
        "Two panels of validation scores",
    )
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_9_tiling_figure_seam_table_and_solutions(server, browser):
    path = "notebooks/09_overlap_tile.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    _one_figure_each(page, "mirrored at its edges", "bright grid of lines")
    seams = page.locator("table", has_text="largest seam error").inner_text()
    assert seams.count("\n") >= 4  # a header and one row per margin
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_6_animation_four_views_and_solutions(server, browser):
    path = "notebooks/06_transposed_conv.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    _animations_step_on_click(page, path, expected=1)
    _one_figure_each(page, "flipped in both", "9 by 49 matrix", "regular checkerboard", "fine grid pattern")
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_5_glyphs_score_maps_and_solutions(server, browser):
    path = "notebooks/05_one_by_one.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    _one_figure_each(page, "Ten small 14x14 glyphs", "probability map of the X class")
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_8_results_table_figures_and_solutions(server, browser):
    path = "notebooks/08_training.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    own = page.locator("table", has_text="trained on this page").inner_text()
    assert "baseline" in own and "weight map" in own
    means = page.locator("table", has_text="results file").inner_text()
    assert "baseline" in means and "weight map" in means
    assert len(re.findall(r"\d\.\d{3} ± \d\.\d{3}", means)) == 6  # 3 recipes x 2 scores
    _one_figure_each(
        page,
        "weight map, dark inside",
        "outlines of its mask",
        "errors marked",
        "learning rate against the training step",
        "shaded band from the lowest",
        "heat map of validation object F1",
    )
    _solutions_hidden_then_open(page, path, expected=5)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_10_metric_tables_figures_and_solutions(server, browser):
    path = "notebooks/10_em_membranes.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    mistakes = page.locator("table", has_text="pixels changed").inner_text()
    assert "a gap in one membrane" in mistakes and "every membrane thicker" in mistakes
    results = page.locator("table", has_text="8 rotations averaged").inner_text()
    assert "U-Net (paper, challenge test set)" in results and "0.0382" in results
    _one_figure_each(page, "hand-traced membranes", "small gap opened", "against the threshold", "predicted cells")
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_every_chapter_fits_a_phone_screen(server, browser):
    """At 390 px wide (a phone) no chapter scrolls sideways: figures shrink to the width, wide
    code and tables scroll inside their own boxes. Screenshots: _build/screenshots/phone_*.png."""
    chapters = [p for p in _pages() if p.startswith("notebooks/")]
    assert len(chapters) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.md")))  # every chapter
    for path in chapters:
        phone = PageVisit(browser, server, path, width=390)
        phone.page.screenshot(path=str(SCREENSHOTS / f"phone_{Path(path).stem}.png"), full_page=True)
        overflow = phone.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than a 390 px phone screen"
        too_wide = phone.page.eval_on_selector_all(
            "main img",
            "els => els.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.getAttribute('alt').slice(0, 60))",
        )
        assert too_wide == [], f"{path}: figures wider than the screen: {too_wide}"
        assert phone.errors == [], f"{path}: {phone.errors}"
        phone.page.close()


def test_no_answer_shows_before_the_reader_asks(server, browser):
    """A solution and its check's verdict stay folded until opened; the checkers' API page shows
    wrong answers and their feedback, never a working solution."""
    chapters = [p for p in _pages() if p.startswith("notebooks/")]
    for path in chapters:
        visit = PageVisit(browser, server, path)
        page = visit.page
        verdicts = page.locator("main pre", has_text="Correct:")
        shown = [v.inner_text()[:60] for v in verdicts.all() if v.is_visible()]
        assert shown == [], f"{path}: a solution's verdict is visible before it is asked for: {shown}"
        folded = page.locator("details.hide.above-input")
        for fold in folded.all():
            fold.locator("summary").click()
        if folded.count():  # opened, the solutions and their verdicts are there
            assert any(v.is_visible() for v in verdicts.all()), f"{path}: no verdict inside the solutions"
        page.close()
    api = PageVisit(browser, server, "book/api/exercises.html").page
    examples = api.locator("main pre", has_text=">>> check_")
    assert examples.count() >= 10
    assert all("Correct:" not in text for text in examples.all_inner_texts())
    api.close()


def _answer_choice(question) -> None:
    """Try every option of a multiple-choice question: only the right one says Right, and each
    shows its own explanation."""
    options = question.locator("input[type=radio]").all()
    assert [o.get_attribute("data-correct") for o in options].count("true") == 1
    for option in options:
        option.check()
        question.locator(".quiz-check").click()
        right = option.get_attribute("data-correct") == "true"
        assert question.locator(".quiz-feedback").inner_text().startswith("Right") == right
        why = question.locator(f"#{option.get_attribute('id')}-why")
        assert why.is_visible() and why.inner_text().strip(), option.get_attribute("id")


def _answer_number(question) -> None:
    """A number outside the tolerance is wrong, the page's own answer is right (typed, Enter)."""
    answer, tolerance = float(question.get_attribute("data-answer")), float(question.get_attribute("data-tolerance"))
    box = question.locator("input[type=text]")
    box.fill(repr(answer + 10 * tolerance + 1))
    question.locator(".quiz-check").click()
    assert question.locator(".quiz-feedback").inner_text().startswith("Not yet")
    box.fill(repr(answer))
    box.press("Enter")  # the keyboard grades too
    assert question.locator(".quiz-feedback").inner_text().startswith("Right")
    assert question.locator(".quiz-why").is_visible()


def test_every_chapter_has_questions_that_grade_themselves(server, browser):
    """At least three questions on every chapter page, each answered in the page with no kernel:
    every option of a choice explains itself, a numeric answer is graded within its tolerance,
    and nothing is explained before the reader answers."""
    chapters = [p for p in _pages() if p.startswith("notebooks/")]
    for path in chapters:
        visit = PageVisit(browser, server, path)
        page = visit.page
        questions = page.locator(".quiz-question")
        assert questions.count() >= 3, f"{path}: {questions.count()} questions"
        assert not any(w.is_visible() for w in page.locator(".quiz-why").all()), f"{path}: an explanation shows"
        for question in questions.all():
            question.scroll_into_view_if_needed()
            if question.get_attribute("data-kind") == "choice":
                _answer_choice(question)
            else:
                _answer_number(question)
        assert visit.errors == [] and visit.outside_requests == [], path
        page.close()


def test_search_finds_transposed_convolution(server, browser):
    visit = PageVisit(browser, server, "search.html?q=transposed")
    page = visit.page
    page.wait_for_selector("#search-results li", timeout=20_000)
    links = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    assert any("06_transposed_conv.html" in link for link in links), links
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_11_results_table_figures_and_solutions(server, browser):
    path = "notebooks/11_aerial.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    results = page.locator("table", has_text="plain loop").inner_text()
    assert "Dice loss, no flips" in results and "stretched one by one" in results
    assert len(re.findall(r"\d\.\d{3} ± \d\.\d{3}", results)) == 7  # 7 trainings, mean IoU each
    test_tile = page.locator("table", has_text="mean ± sd").inner_text()
    assert len(re.findall(r"seed \d", test_tile)) == 3  # the test tile, once per seed
    _one_figure_each(
        page,
        "beside its mask painted in five display colours",
        "share of labelled pixels per class",
        "Grouped bars of the IoU",
        "Mean IoU on the validation tile against training steps",
    )
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_12_scores_scene_figures_and_solutions(server, browser):
    path = "notebooks/12_aerial_practice.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    margins = page.locator("table", has_text="largest probability change").inner_text()
    assert len(re.findall(r"\d\.\de[+-]\d\d", margins)) == 7  # one row per margin tried
    _one_figure_each(
        page,
        "confusion matrix of the model trained on this page",
        "error map with the wrongly predicted pixels",
    )
    _solutions_hidden_then_open(page, path, expected=2)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_4_optimiser_table_figures_and_solutions(server, browser):
    path = "notebooks/04_trained_network.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    steps = page.locator("table", has_text="turned 45 degrees").inner_text()
    assert all(rule in steps for rule in ("gradient descent", "momentum 0.9", "Adam"))
    assert len(re.findall(r"\d+ steps \(lr", steps)) == 6
    remedies = page.locator("table", has_text="early stopping").inner_text()
    assert len(re.findall(r"\d\.\d{3} ± \d\.\d{3}", remedies)) == 8  # 4 trainings x 2 columns
    _one_figure_each(
        page,
        "Elliptical contour lines of the bowl",
        "relative error of",
        "root mean square against layer number",
        "for 30 training",
        "for 300 pictures",
    )
    _solutions_hidden_then_open(page, path, expected=3)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_chapter_13_results_table_figures_and_solutions(server, browser):
    path = "notebooks/13_remote_sensing.html"
    visit = PageVisit(browser, server, path)
    page = visit.page
    results = page.locator("table", has_text="random-pixel split").inner_text()
    assert "six bands" in results and "RGB + indices" in results and "nodata not masked" in results
    assert len(re.findall(r"\d\.\d{3} ± \d\.\d{3}", results)) == 5  # 5 inputs, 3 seeds each
    areas = page.locator("table", has_text="predicted 2000 (ha)").inner_text()
    assert all(name in areas for name in ("developed", "forest", "water"))
    _one_figure_each(
        page,
        "in true colour",
        "cut into 64-pixel squares",
        "the 1996 land-cover map disagree",
        "drawn on map coordinates",
    )
    _solutions_hidden_then_open(page, path, expected=4)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


DEMO = "book/demo.html"
DEMO_FILES = HTML / "_static" / "demo"


def _demo_done(page, timeout: int = 120_000) -> None:
    page.wait_for_selector("#unet-demo[data-state=done]", timeout=timeout)


# The page's Float32Array of logits, as bytes (base64): far quicker than a list of numbers.
_LOGITS_AS_BASE64 = """(logits) => {
    const bytes = new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000)
        text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(text);
}"""


def _page_logits(page, expression: str):
    """The Float32Array ``expression`` evaluates to in the page (awaited), as a NumPy array."""
    import base64

    import numpy as np

    encoded = page.evaluate(f"async () => ({_LOGITS_AS_BASE64})(await ({expression}))")
    return np.frombuffer(base64.b64decode(encoded), dtype="<f4")


def _demo_settings() -> dict:
    import json

    return json.loads((DEMO_FILES / "demo.json").read_text())


def _tile_count(height: int, width: int, margin: int) -> int:
    """How many tiles unetlib's own planner lays over the image (the page must run as many)."""
    from unetlib.model import UNet
    from unetlib.tiling import plan_tiles

    settings = _demo_settings()
    depth = settings["multiple"].bit_length() - 1
    network = UNet(1, 2, depth=depth, base_channels=2, padding="same")
    return len(plan_tiles(network, height, width, settings["tile_size"], margin))


def test_the_unet_in_the_page_gives_pytorchs_logits_offline(server, browser):
    """The demo segments a held-out image in the browser, with the network cut off, and for every
    margin the reader can pick its logits equal those PyTorch computed in the build (unetlib's
    predict_tiled on the same PNG) to 1e-4."""
    import numpy as np

    settings = _demo_settings()
    assert (DEMO_FILES / settings["model"]).stat().st_size <= 5e6  # the limit
    visit = PageVisit(browser, server, DEMO)
    page = visit.page
    _demo_done(page)
    sample = settings["samples"][settings["reference"]["sample"]]
    for margin in settings["margins"]:
        page.select_option("#unet-demo-margin", str(margin))
        page.wait_for_function(f"window.unetDemo.state.result.margin === {margin}", timeout=120_000)
        _demo_done(page)
        result = page.evaluate(
            "() => { const r = window.unetDemo.state.result; return {width: r.width, height: r.height, tiles: r.tiles}; }"
        )
        logits = _page_logits(page, "window.unetDemo.state.result.logits")
        reference = np.fromfile(DEMO_FILES / settings["reference"]["files"][str(margin)], dtype="<f4")
        assert (result["height"], result["width"]) == (sample["height"], sample["width"])
        assert result["tiles"] == _tile_count(sample["height"], sample["width"], margin)
        assert logits.shape == reference.shape
        difference = np.abs(logits - reference).max()
        assert difference <= 1e-4, f"margin {margin}: the page's logits differ from PyTorch's by {difference}"
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


# Grey values of awkward sizes, margins and ranges: (height, width, margin, kind).
AWKWARD_IMAGES = [
    (1, 1, 0, "random"),
    (3, 5, 32, "random"),
    (20, 20, 0, "constant"),  # no spread: every pixel scales to 0
    (203, 301, 37, "random"),  # a margin whose step is rounded down to the pooling grid
    (300, 260, 64, "12-bit"),  # values well beyond 8 bits: the percentiles do the scaling
]


def test_the_unet_in_the_page_equals_unetlib_on_any_image(server, browser):
    """The page's whole pipeline on grey values of awkward sizes, margins and ranges equals
    unetlib's, run in PyTorch from the checkpoint the build wrote: normalise_percentile, then
    predict_tiled with the file's tile size."""
    import numpy as np
    import torch

    from unetlib.checkpoints import load_checkpoint
    from unetlib.data import normalise_percentile
    from unetlib.tiling import predict_tiled

    settings = _demo_settings()
    model = load_checkpoint(DEMO_FILES / settings["checkpoint"])["model"].eval()
    visit = PageVisit(browser, server, DEMO)
    page = visit.page
    _demo_done(page)
    for height, width, margin, kind in AWKWARD_IMAGES:
        rng = np.random.default_rng(height * width + margin)
        grey = {
            "random": lambda: rng.integers(0, 256, (height, width)).astype(np.float64),
            "constant": lambda: np.full((height, width), 77.0),
            "12-bit": lambda: rng.gamma(2.0, 300.0, (height, width)).round().clip(0, 4095),
        }[kind]()
        with torch.no_grad():
            expected = predict_tiled(
                model, normalise_percentile(grey), tile_size=settings["tile_size"], margin=margin, progress=False
            ).numpy()
        page.evaluate("(grey) => { window.awkward = Float64Array.from(grey); }", grey.ravel().tolist())
        logits = _page_logits(
            page,
            f"window.unetDemo.segment(window.awkward, {width}, {height}, {margin}).then((result) => result.logits)",
        )
        difference = np.abs(logits.reshape(expected.shape) - expected).max()
        assert difference <= 1e-4, f"{kind} {height} x {width}, margin {margin}: off by {difference}"
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_the_unet_in_the_page_follows_its_threshold(server, browser):
    """The share of pixels the page reports above the threshold is the share PyTorch's
    probabilities give, at the chosen threshold and at both ends of the slider."""
    import numpy as np

    settings = _demo_settings()
    reference = np.fromfile(DEMO_FILES / settings["reference"]["files"][str(settings["margin"])], dtype="<f4")
    logits = reference.reshape(2, -1)
    nucleus = 1 / (1 + np.exp(logits[0] - logits[1]))
    visit = PageVisit(browser, server, DEMO)
    page = visit.page
    _demo_done(page)
    for threshold in (settings["threshold"], 0.05, 0.95):
        page.locator("#unet-demo-threshold").fill(str(threshold))
        page.locator("#unet-demo-threshold").dispatch_event("change")
        status = page.locator("#unet-demo-status").inner_text()
        shown = float(re.search(r"([\d.]+)% of pixels", status).group(1))
        assert shown == pytest.approx(100 * (nucleus > threshold).mean(), abs=0.051), (threshold, status)
    for view in ("probability", "image", "mask"):
        page.select_option("#unet-demo-view", view)
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def _png(array) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_unet_in_the_page_takes_a_readers_image_and_refuses_others(server, browser):
    """A colour image of the reader's, of a size no tile fits, is segmented whole; a file that is
    not an image and an image too large get a message saying what to do, and no crash."""
    import numpy as np

    visit = PageVisit(browser, server, DEMO)
    page = visit.page
    _demo_done(page)
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 255, size=(203, 301, 3), dtype=np.uint8)
    page.set_input_files(
        "#unet-demo-file", files=[{"name": "mine.png", "mimeType": "image/png", "buffer": _png(colour)}]
    )
    page.wait_for_function("window.unetDemo.state.image.name === 'mine.png'")
    _demo_done(page)
    shape = page.evaluate("() => [window.unetDemo.state.result.height, window.unetDemo.state.result.width]")
    assert shape == [203, 301]
    assert "mine.png, 301 x 203 px" in page.locator("#unet-demo-status").inner_text()

    page.set_input_files("#unet-demo-file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    page.wait_for_selector("#unet-demo[data-state=error]")
    assert "notes.txt is not an image" in page.locator("#unet-demo-status").inner_text()
    huge = np.zeros((2100, 2100), dtype=np.uint8)
    page.set_input_files("#unet-demo-file", files=[{"name": "huge.png", "mimeType": "image/png", "buffer": _png(huge)}])
    page.wait_for_function("document.querySelector('#unet-demo-status').innerText.includes('huge.png is')")
    assert "crop or shrink it first" in page.locator("#unet-demo-status").inner_text()
    assert visit.errors == [] and visit.outside_requests == []
    page.close()


def test_the_unet_in_the_page_fits_a_phone_and_dark_mode(server, browser):
    """Screenshots for a person to look at (light, dark, phone); the demo fits 390 pixels."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        visit = PageVisit(browser, server, DEMO, width=width)
        page = visit.page
        _demo_done(page)
        demo = page.locator("#unet-demo")
        box = demo.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
        for mode in ("light", "dark"):
            page.evaluate(f"() => document.documentElement.setAttribute('data-theme', '{mode}')")
            demo.screenshot(path=str(SCREENSHOTS / f"unet_demo_{width}_{mode}.png"))
        assert visit.errors == [] and visit.outside_requests == []
        page.close()
