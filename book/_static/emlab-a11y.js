// EM Lab book: keyboard and screen-reader touches (see book/_ext/emlab_a11y.py).

// MathJax's speech engine (loaded with the page for the formula explorer) fetches its rule files
// with XMLHttpRequest, which browsers refuse for a book opened from files (file://); MathJax would
// then never typeset. The rules are served as scripts instead (book/update-vendor.sh wraps them)
// and handed to the engine through its custom loader, SREfeature.custom. MathJax's a11y/sre
// component replaces window.SREfeature and its loader when it starts, so the loader is kept on
// whatever object is put there. This file runs before MathJax (both are deferred, this one
// first), and the same path is taken over HTTP so that one path is tested.
(() => {
  const here = document.currentScript && document.currentScript.src;
  if (!here) return;
  const folder = new URL("vendor/mathjax/sre/mathmaps/", here);
  const custom = (locale) => new Promise((resolve, reject) => {
    const rules = () => (window.emlabMathmaps || {})[locale];
    if (rules()) { resolve(rules()); return; }
    const script = document.createElement("script");
    script.src = new URL(locale + ".js", folder).href;
    script.onload = () => (rules() ? resolve(rules()) : reject(new Error("no rules for " + locale)));
    script.onerror = () => reject(new Error("could not load the speech rules for " + locale));
    document.head.append(script);
  });
  const keep = (feature) => {
    Object.defineProperty(feature, "custom", { get: () => custom, set: () => {}, enumerable: true });
    return feature;
  };
  let feature = keep(Object.assign({}, window.SREfeature));
  Object.defineProperty(window, "SREfeature", {
    configurable: true,
    get: () => feature,
    set: (value) => { feature = keep(Object.assign({}, value)); },
  });
})();

document.addEventListener("DOMContentLoaded", () => {
  // A written answer's dropdown says what it will do: "Show solution", then "Hide solution".
  for (const details of document.querySelectorAll("details.sd-dropdown.emlab-solution")) {
    const text = details.querySelector(":scope > summary .sd-summary-text");
    if (!text) continue;
    const say = () => { text.textContent = details.open ? "Hide solution" : "Show solution"; };
    details.addEventListener("toggle", say);
    say();
  }

  // A lesson with an explorer offers a link straight to it, first in the main content: from the
  // top of the page, "Skip to main content" then "Skip to the explorer" reach its controls.
  const player = document.querySelector(".emlab-player[id]");
  const main = document.querySelector("#main-content");
  if (player && main) {
    const skip = document.createElement("a");
    skip.href = "#" + player.id;
    skip.className = "emlab-skip-explorer";
    skip.textContent = "Skip to the explorer";
    skip.addEventListener("click", () => { player.focus(); });
    main.prepend(skip);
  }

  // A formula too wide for the column scrolls sideways inside its own box (the theme's style for
  // display math, and emlab-book.css on a narrow screen): such a box must be reachable from the
  // keyboard to be scrolled, and named (WCAG 2.1.1; axe's scrollable-region-focusable).
  const markScrolling = () => {
    for (const box of document.querySelectorAll('div.math, mjx-container[display="true"]')) {
      const overflow = getComputedStyle(box).overflowX;
      const scrolls = (overflow === "auto" || overflow === "scroll") && box.scrollWidth > box.clientWidth;  // even 1 px: axe counts it
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.dataset.emlabScroll = "1";
        if (box.tagName === "DIV") {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", "formula (scrolls sideways)");
        }
      } else if (!scrolls && box.dataset.emlabScroll) {
        box.removeAttribute("tabindex");
        delete box.dataset.emlabScroll;
        if (box.tagName === "DIV") {
          box.removeAttribute("role");
          box.removeAttribute("aria-label");
        }
      }
    }
  };
  // after MathJax has typeset, again once the fonts and images have settled the layout
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    window.MathJax.startup.promise.then(markScrolling);
  }
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(markScrolling);
  window.addEventListener("load", markScrolling);
  window.addEventListener("resize", markScrolling);

  // MathJax names each formula by its speech (aria-label) and hides the rest from screen
  // readers; with the explorer off the formula has no role, and a name on an element with no
  // role is one assistive technology may ignore (ARIA; axe's aria-prohibited-attr). Such a
  // formula gets the role "math"; the explorer, when on, gives it "application" itself.
  const giveRoles = () => {
    for (const math of document.querySelectorAll("mjx-container[aria-label]:not([role])")) {
      math.setAttribute("role", "math");
    }
  };
  giveRoles();
  new MutationObserver(giveRoles).observe(document.body, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["role", "aria-label"],
  });

  // Formulas are not Tab stops (book.yml sets MathJax's inTabOrder to false), so that a keyboard
  // user reaches the lesson's controls quickly. A page with formulas offers one button that turns
  // on MathJax's formula explorer: the formulas join the Tab order and the arrow keys walk
  // through them, read aloud. MathJax remembers the choice across pages.
  const article = document.querySelector("article.bd-article");
  const mathjax = window.MathJax;
  if (!article || !mathjax || !document.querySelector(".math")) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-sm emlab-math-explorer";
  button.setAttribute("aria-pressed", "false");
  button.textContent = "Explore formulas with the keyboard";
  article.prepend(button);
  const ready = mathjax.startup && mathjax.startup.promise ? mathjax.startup.promise : Promise.resolve();
  ready.then(() => {
    const menu = mathjax.startup.document.menu;
    if (!menu || !menu.menu) { button.remove(); return; }
    const variable = (name) => menu.menu.pool.lookup(name);
    const show = () => button.setAttribute("aria-pressed", String(Boolean(variable("explorer").getValue())));
    button.addEventListener("click", () => {
      const on = !variable("explorer").getValue();
      variable("inTabOrder").setValue(on);
      variable("explorer").setValue(on);
      show();
    });
    show();
  });
});
