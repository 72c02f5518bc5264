// Forms and import pages: a "Copy" button for the embed snippet. Without JavaScript the
// snippet stays a read-only text area the user can select and copy by hand.
"use strict";

for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.querySelector(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (!source) {
    continue;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(source.value);
      copied = true;
    } catch {
      source.focus();
      source.select();
      copied = document.execCommand("copy");
    }
    if (status) {
      status.textContent = copied ? "Copied." : "Select the text and copy it by hand.";
    }
  });
}
