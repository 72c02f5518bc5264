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

// The account menu (a <details>) closes on a click outside it and on Escape.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.account[open]")) {
    if (!menu.contains(event.target)) {
      menu.open = false;
    }
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") {
    return;
  }
  for (const menu of document.querySelectorAll("details.account[open]")) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
