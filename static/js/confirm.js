/* Confirmations without inline JavaScript (the CSP forbids inline handlers).
 *
 * <form data-confirm="Delete this contact?">  asks before the form is submitted;
 * <button data-confirm="..."> asks before that button submits its form;
 * <a data-confirm="...">                     asks before the link is followed.
 * Cancelling stops the submission (htmx's too: this listens first, in the capture phase). */
(function () {
  "use strict";

  function ask(message, event) {
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return false;
    }
    return true;
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter;
      if (submitter && submitter.hasAttribute("data-confirm")) {
        ask(submitter.getAttribute("data-confirm"), event);
      } else if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
        ask(form.getAttribute("data-confirm"), event);
      }
    },
    true
  );

  document.addEventListener(
    "click",
    function (event) {
      var link = event.target instanceof Element ? event.target.closest("a[data-confirm]") : null;
      if (link) {
        ask(link.getAttribute("data-confirm"), event);
      }
    },
    true
  );
})();
