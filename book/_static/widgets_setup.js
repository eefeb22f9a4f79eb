// Runs between RequireJS and the ipywidgets HTML manager (see nb_ipywidgets_js in _config.yml).
(function () {
  // The HTML manager finds its icon fonts next to the module that defines it, which RequireJS
  // would place beside the page; point that module name at the copy in _static/widgets.
  var here = document.currentScript.src;
  var widgets = here.slice(0, here.lastIndexOf("/") + 1) + "widgets";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": widgets } });

  // The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue; this book loads
  // MathJax 3, which has no Hub. Give it the one MathJax 2 call the widgets make.
  function addHub() {
    var mathjax = window.MathJax;
    if (mathjax && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (job) {
          if (mathjax.typesetPromise && job && job[2]) {
            mathjax.typesetPromise([job[2]]).catch(function () {});
          }
        },
      };
    }
  }
  addHub();
  document.addEventListener("DOMContentLoaded", addHub);
})();
