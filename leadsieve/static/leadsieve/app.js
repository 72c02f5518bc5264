// LeadSieve workspace: the little behaviour htmx does not cover. Works after htmx swaps.
"use strict";

document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.matches("[data-select-all]")) {
    return;
  }
  const form = box.closest("form");
  if (!form) {
    return;
  }
  for (const row of form.querySelectorAll("input[name='lead']")) {
    row.checked = box.checked;
  }
});
