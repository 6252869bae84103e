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
