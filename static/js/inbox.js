// The team inbox in the browser: the tab title shows the number of conversations with unread
// replies (the sidebar's badge polls it), and an open conversation keeps its newest message
// in view. No inline scripts (the CSP forbids them): htmx events only.
(function () {
  "use strict";
  var baseTitle = document.title.replace(/^\(\d+\) /, "");

  function showUnread() {
    var badge = document.querySelector("#inbox-unread [data-unread]");
    if (!badge) return;
    var count = parseInt(badge.getAttribute("data-unread"), 10) || 0;
    document.title = count > 0 ? "(" + count + ") " + baseTitle : baseTitle;
  }

  function scrollThread() {
    var thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  document.addEventListener("DOMContentLoaded", scrollThread);
  document.addEventListener("htmx:afterSettle", function (event) {
    showUnread();
    var target = event.detail && event.detail.elt;
    if (target && target.id === "thread-poller") scrollThread();
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "thread") scrollThread();
  });
})();
