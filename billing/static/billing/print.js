// Print buttons on invoices (inline handlers are blocked by the CSP's script-src 'self').
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
