// Search results quote the pages' text, math included as TeX source (\( ... \)): typeset it.
// Loaded, with the book's MathJax, on the search page only.
document.addEventListener("DOMContentLoaded", () => {
  const results = document.getElementById("search-results");
  if (!results || !window.MathJax) return;
  let timer = null;
  const typeset = () => {
    if (!/\\\(|\\\[|\$\$/.test(results.textContent)) return;  // nothing (more) to typeset
    MathJax.startup.promise.then(() => MathJax.typesetPromise([results])).catch(() => {});
  };
  new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(typeset, 150);
  }).observe(results, { childList: true, subtree: true });
});
