// The import's mapping page: under a column's role, show how its first name splits for the
// full-name role chosen (the server renders one example per full-name role, hidden unless
// chosen), so the user sees what will happen before starting the import.
document.addEventListener("change", (event) => {
  const select = event.target;
  const row = select.closest && select.closest("[data-column-role]");
  if (!row || select.tagName !== "SELECT") return;
  for (const example of row.querySelectorAll("[data-split-for]")) {
    example.hidden = example.dataset.splitFor !== select.value;
  }
});

// Ticking or unticking "The first row is a header" reads the columns again from that row
// (its button does it without JavaScript too).
document.addEventListener("change", (event) => {
  if (event.target.id !== "id_has_header") return;
  const reread = document.querySelector("[data-testid=reread-header]");
  if (reread) reread.click();
});
