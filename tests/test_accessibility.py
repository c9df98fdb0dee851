"""The book works for every student: WCAG 2.1 A and AA, checked with axe-core and by hand.

axe-core (bundled by ``axe-playwright-python``) runs over every page of the built book in headless
Chromium, in light and in dark mode, and must find no violation of WCAG 2.1 A or AA (including
"label-content-name-mismatch": a control's name must contain the words it shows). Then what axe
cannot judge: no image is named by its file, every captioned figure is tied to its caption, no
page scrolls sideways at 320 px or at 200% zoom, a keyboard user reaches the k-means explorer in
a handful of key presses and can play and step it, and a screen reader hears each step.
Screenshots go to ``artifacts/a11y/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "a11y"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
#: The lesson whose explorer the keyboard walk uses.
KMEANS = next((p for p in LESSONS if p.stem.endswith("kmeans")), None)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FILE_NAME = re.compile(r"(\.(png|jpe?g|gif|svg|webp)\s*$)|_images/|^[0-9a-f]{16,}", re.I)
CAPTION = re.compile(r"^\s*\*\*Figure\s+\d+\.?\*\*")

axe_module = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="install the test extra (axe-playwright-python)"
)


def _pages(book: Path) -> list[str]:
    return sorted(
        p.relative_to(book).as_posix()
        for p in book.rglob("*.html")
        if not {"_static", "_sources", "_images", "_downloads"} & set(p.parts)
    )


def _follows_an_image(cells: list[dict], index: int) -> bool:
    """Whether the nearest code cell before ``index`` that shows anything shows an image."""
    for cell in reversed(cells[:index]):
        if cell["cell_type"] != "code" or not cell.get("outputs"):
            continue
        kinds = {kind for output in cell["outputs"] for kind in output.get("data", {})}
        if any(kind.startswith("image/") for kind in kinds):
            return True
        if "text/html" in kinds:
            return False
    return False


def _open(context, url: str):
    page = context.new_page()
    page.goto(url, wait_until="load")
    # MathJax typesets after load: wait for it, so that axe sees the page a reader sees
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise !== undefined"
    )
    page.evaluate(
        "() => window.MathJax && MathJax.startup ? Promise.race([MathJax.startup.promise,"
        " new Promise((resolve) => setTimeout(resolve, 20000))]) : null"
    )
    # and its web fonts: until they load, formulas are laid out wider in a fallback font
    # (emlab-a11y.js looks again for formulas that scroll once they have)
    page.evaluate(
        "() => Promise.race([document.fonts.ready, new Promise((r) => setTimeout(r, 10000))])"
        ".then(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))))"
    )
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_wcag_violation_on_any_page(browser, book, server, scheme):
    axe = axe_module.Axe()
    options = {
        "runOnly": {"type": "tag", "values": WCAG},
        "rules": {"label-content-name-mismatch": {"enabled": True}},
        "resultTypes": ["violations"],
    }
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    found = []
    try:
        for path in _pages(book):
            page = _open(context, server + path)
            assert page.evaluate("document.documentElement.dataset.theme") == scheme, path
            for violation in axe.run(page, options=options).response["violations"]:
                nodes = [node["html"][:160] for node in violation["nodes"][:3]]
                found.append(f"{path}: {violation['id']} ({violation['impact']}): {nodes}")
            page.close()
    finally:
        context.close()
    assert found == [], "axe-core found WCAG 2.1 A/AA violations:\n" + "\n".join(found)


def test_no_image_is_named_by_its_file_and_figures_carry_their_captions(browser, book, server):
    context = browser.new_context()
    try:
        for path in _pages(book):
            page = _open(context, server + path)
            images = page.evaluate(
                """() => [...document.querySelectorAll('img')].map(img => ({
                    alt: img.getAttribute('alt'),
                    src: (img.getAttribute('src') || '').slice(0, 60),
                    caption: img.closest('figure')?.querySelector('figcaption')?.textContent ?? null,
                }))"""
            )
            for image in images:
                assert image["alt"], f"{path}: an image with no text alternative: {image['src']}"
                assert not FILE_NAME.search(image["alt"]), f"{path}: alt is a file: {image['alt']}"
            lesson = ROOT / (Path(path).with_suffix(".ipynb"))
            if lesson.exists():  # every "**Figure N.**" caption is its figure's <figcaption>
                cells = json.loads(lesson.read_text())["cells"]
                captions = [  # captions of images (an animation's caption is its own)
                    c
                    for i, c in enumerate(cells)
                    if c["cell_type"] == "markdown"
                    and CAPTION.match("".join(c["source"]))
                    and _follows_an_image(cells, i)
                ]
                tied = [
                    i
                    for i in images
                    if re.sub(r"^\s*Fig\. \d+\s*", "", i["caption"] or "").startswith("Figure")
                ]
                assert len(tied) >= len(captions), (
                    f"{path}: {len(captions)} captions, {len(tied)} tied"
                )
            page.close()
    finally:
        context.close()


@pytest.mark.parametrize(
    ("width", "zoom"),
    [
        (320, 1),
        (1280, 2),
    ],
    ids=["320px", "200%-zoom"],
)
def test_no_page_scrolls_sideways(browser, book, server, width, zoom):
    # 200% zoom of a 1280 px window lays pages out in 640 CSS pixels, as a 640 px window does
    context = browser.new_context(
        viewport={"width": width // zoom, "height": 800}, device_scale_factor=zoom
    )
    wide = []
    try:
        for path in _pages(book):
            page = _open(context, server + path)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width // zoom:
                wide.append(f"{path}: {scroll} px")
            page.close()
    finally:
        context.close()
    assert wide == [], f"pages wider than the {width // zoom} px window: {wide}"


def _focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName, text: (el.innerText || el.getAttribute('aria-label') || '').trim(),
                    inPlayer: Boolean(el.closest('.emlab-player'))};
        }"""
    )


@pytest.mark.skipif(KMEANS is None, reason="no k-means lesson")
def test_a_keyboard_user_reaches_plays_and_steps_the_kmeans_explorer(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = _open(context, f"{server}notebooks/{KMEANS.stem}.html")
        presses = []
        for key in ["Tab", "Enter", "Tab", "Enter", "Tab"]:  # skip to content, skip to explorer
            page.keyboard.press(key)
            presses.append(key)
            page.wait_for_timeout(200)
        focus = _focused(page)
        assert focus["inPlayer"] and focus["text"] == "First", (presses, focus)
        player = page.locator(".emlab-player").first
        status = player.locator(".emlab-player-status")
        assert status.get_attribute("aria-live") == "polite"
        first = status.inner_text()
        assert "half-step 0 of" in first and "Log-likelihood" in first
        image = player.locator("img")
        assert image.get_attribute("alt") == first
        for _ in range(3):  # Tab to Next: First, Previous, Play, Next
            page.keyboard.press("Tab")
        assert _focused(page)["text"] == "Next"
        page.keyboard.press("Enter")
        second = status.inner_text()
        assert second != first and "half-step 1 of" in second and "moved by up to" in second
        assert image.get_attribute("alt") == second
        page.keyboard.press("Shift+Tab")  # back to Play
        assert _focused(page)["text"] == "Play"
        page.keyboard.press("Enter")
        assert _focused(page)["text"] == "Pause"
        page.wait_for_timeout(2000)
        assert status.inner_text() not in (first, second), "playing did not move the frames"
        page.keyboard.press("Enter")  # pause
        page.screenshot(path=str(ARTIFACTS / "kmeans-explorer-keyboard.png"))
        # the accessibility tree a screen reader gets names the player and the frame
        tree = player.aria_snapshot()
        assert "group" in tree and "half-step" in tree and 'button "Play"' in tree
    finally:
        context.close()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_the_accessibility_tree_names_every_figure_by_what_it_shows(browser, server, lesson):
    context = browser.new_context()
    try:
        page = _open(context, f"{server}notebooks/{lesson.stem}.html")
        tree = page.locator("article").first.aria_snapshot()
        images = re.findall(r"- img \"([^\"]*)\"", tree)
        figures = page.locator("article img").count()
        assert len(images) >= figures > 0 or figures == 0
        for name in images:
            assert name and not FILE_NAME.search(name), f"{lesson.stem}: an image named {name!r}"
        assert not re.search(r"- img(?! \")", tree), f"{lesson.stem}: an image with no name"
    finally:
        context.close()


def test_formulas_are_not_tab_stops_until_the_explorer_is_turned_on(browser, server):
    context = browser.new_context()
    try:
        page = _open(context, f"{server}notebooks/{LESSONS[1].stem}.html")
        # only a formula too wide for the column, which scrolls in its own box, is a Tab stop
        # any tabindex of 0 or more is a Tab stop (MathJax's explorer sets 1, which even puts
        # formulas before everything else)
        stops = page.evaluate(
            """[...document.querySelectorAll('mjx-container[tabindex]:not([data-emlab-scroll])')]
                .filter((m) => m.tabIndex >= 0).length"""
        )
        assert stops == 0, f"{stops} formulas are Tab stops"
        button = page.get_by_role("button", name="Explore formulas with the keyboard")
        assert button.get_attribute("aria-pressed") == "false"
        button.click()
        page.wait_for_function(
            "[...document.querySelectorAll('mjx-container[tabindex]')].some((m) => m.tabIndex >= 0)",
            timeout=30_000,
        )
        assert button.get_attribute("aria-pressed") == "true"
    finally:
        context.close()
