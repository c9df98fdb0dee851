#!/usr/bin/env bash
# Refresh the JavaScript the book serves itself, so that it needs no CDN (run by hand, needs npm).
# The files are committed under book/_static/vendor/: building the book needs neither npm nor a
# network, and the built book loads nothing from outside. Bump the versions here, rerun, rebuild,
# run tests/test_book.py, and commit book/_static/vendor/.
set -euo pipefail
MATHJAX=3.2.2        # Sphinx 7's default MathJax major version
HTML_MANAGER=1.0.15  # @jupyter-widgets/html-manager 1.x renders ipywidgets 8 widget state

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/_static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "mathjax@$MATHJAX" "@jupyter-widgets/html-manager@$HTML_MANAGER" >/dev/null
mkdir mathjax html-manager
tar xzf "mathjax-$MATHJAX.tgz" -C mathjax
tar xzf "jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C html-manager

rm -rf "$out/mathjax" "$out/html-manager"
mkdir -p "$out/mathjax/output/chtml/fonts" "$out/mathjax/a11y" "$out/mathjax/input" \
  "$out/mathjax/sre/mathmaps" "$out/html-manager"
# MathJax: the all-in-one TeX component (every TeX extension built in, so nothing is autoloaded)
# and the web fonts its CommonHTML output uses.
cp mathjax/package/es5/tex-chtml-full.js mathjax/package/LICENSE "$out/mathjax/"
cp -r mathjax/package/es5/output/chtml/fonts/woff-v2 "$out/mathjax/output/chtml/fonts/"
# MathJax's accessibility components, which its menu loads when a reader turns on speech or the
# formula explorer (the explorer reads formulas aloud and lets the arrow keys walk through them),
# with the Speech Rule Engine's English and Nemeth (braille) rules.
cp mathjax/package/es5/a11y/*.js "$out/mathjax/a11y/"
cp mathjax/package/es5/input/mml.js "$out/mathjax/input/"
# The engine fetches its rules with XMLHttpRequest, which a browser refuses for a book opened from
# files (file://), and MathJax then never typesets. So each rule file is wrapped as a script that
# book/_static/emlab-a11y.js loads through the engine's custom loader (SREfeature.custom).
for name in base en nemeth; do
  python3 -c 'import json, sys; name, text = sys.argv[1], open(sys.argv[2], encoding="utf-8").read(); json.loads(text); print("(window.emlabMathmaps = window.emlabMathmaps || {})[%s] = %s;" % (json.dumps(name), json.dumps(text)))' \
    "$name" "mathjax/package/es5/sre/mathmaps/$name.json" > "$out/mathjax/sre/mathmaps/$name.js"
done
# ipywidgets' standalone renderer (standard widgets, no RequireJS) and the icon fonts it links,
# in the formats current browsers load (woff2, woff).
cp html-manager/package/dist/embed.js html-manager/package/dist/embed.js.LICENSE.txt "$out/html-manager/"
cp html-manager/package/dist/*.woff html-manager/package/dist/*.woff2 "$out/html-manager/"
cat > "$out/README.md" <<NOTE
# Vendored JavaScript (written by book/update-vendor.sh; do not edit)

| package | version | license | files |
| --- | --- | --- | --- |
| mathjax | $MATHJAX | Apache-2.0 (mathjax/LICENSE) | es5/tex-chtml-full.js, es5/output/chtml/fonts/woff-v2/, es5/a11y/, es5/input/mml.js, es5/sre/mathmaps/ (base, en, nemeth, each wrapped as a script) |
| @jupyter-widgets/html-manager | $HTML_MANAGER | BSD-3-Clause (ipywidgets; bundled notices in embed.js.LICENSE.txt) | dist/embed.js and its woff/woff2 fonts |
NOTE
du -sh "$out"
