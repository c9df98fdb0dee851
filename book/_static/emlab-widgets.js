// Loaded before ipywidgets' html-manager on pages that hold saved widget state.
// The html-manager typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the book
// serves MathJax 3, which has no Hub. Give it a small Hub that forwards to MathJax 3.
document.addEventListener("DOMContentLoaded", () => {
  const mathjax = window.MathJax;  // MathJax 3, loaded with `defer`, has started by now
  if (!mathjax || mathjax.Hub) return;
  mathjax.Hub = {
    Queue(command) {
      const element = Array.isArray(command) ? command[2] : undefined;
      const ready = mathjax.startup && mathjax.startup.promise ? mathjax.startup.promise : Promise.resolve();
      return ready.then(() => mathjax.typesetPromise && mathjax.typesetPromise(element ? [element] : []));
    },
  };
});
