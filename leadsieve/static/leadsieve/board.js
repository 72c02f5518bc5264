// The pipeline board's drag and drop: native HTML5 drag events, no library.
//
// A dropped card submits its own "Move to" form (the path that works without JavaScript),
// so a drag obeys the same rules and CSRF token as the form; htmx posts it and swaps in the
// re-rendered board, whose columns then show their new counts. A move the server refuses
// comes back in that board as a message, with the card still in its old column. When the
// server answers with an error status (the lead left your scope, the session expired) the
// board is not swapped: the card is put back here and the reason is shown.
"use strict";

(() => {
  let dragged = null; // { card, parent, next, stageId }

  const columnOf = (event) =>
    event.target instanceof Element ? event.target.closest("[data-stage-id]") : null;

  const announce = (text) => {
    const board = document.querySelector("[data-board]");
    if (!board) {
      return;
    }
    let list = board.querySelector("ul.messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "alert");
      board.prepend(list);
    }
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = text; // text, never HTML: lead names are user data
    list.replaceChildren(item);
  };

  const putBack = () => {
    if (!dragged) {
      return;
    }
    const { card, parent, next, stageId } = dragged;
    card.classList.remove("moving");
    parent.insertBefore(card, next && next.parentElement === parent ? next : null);
    const select = card.querySelector("select[name='stage']");
    if (select) {
      select.value = stageId;
    }
    dragged = null;
  };

  document.addEventListener("dragstart", (event) => {
    const card =
      event.target instanceof Element ? event.target.closest(".board-card[draggable]") : null;
    if (!card) {
      return;
    }
    const column = card.closest("[data-stage-id]");
    dragged = {
      card,
      parent: card.parentElement,
      next: card.nextElementSibling,
      stageId: column ? column.dataset.stageId : "",
    };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.leadId || "");
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", () => {
    for (const card of document.querySelectorAll(".board-card.dragging")) {
      card.classList.remove("dragging");
    }
    for (const column of document.querySelectorAll(".drop-target")) {
      column.classList.remove("drop-target");
    }
  });

  document.addEventListener("dragover", (event) => {
    const column = columnOf(event);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", (event) => {
    const column = columnOf(event);
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("drop-target");
    }
  });

  document.addEventListener("drop", (event) => {
    const column = columnOf(event);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    column.classList.remove("drop-target");
    const { card, stageId } = dragged;
    const form = card.querySelector("form.board-move");
    const select = form ? form.querySelector("select[name='stage']") : null;
    if (!form || !select || column.dataset.stageId === stageId) {
      dragged = null;
      return;
    }
    select.value = column.dataset.stageId;
    const cards = column.querySelector("[data-cards]");
    if (cards) {
      cards.prepend(card); // shown at once; the server's board replaces it
    }
    card.classList.add("moving");
    form.requestSubmit();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target instanceof Element && event.target.matches("[data-board]")) {
      dragged = null;
    }
  });

  document.addEventListener("htmx:responseError", (event) => {
    const form = event.detail && event.detail.elt;
    if (!(form instanceof Element) || !form.matches("form.board-move")) {
      return;
    }
    const card = form.closest(".board-card");
    const name = card ? card.dataset.leadName : "The lead";
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    putBack();
    announce(
      status === 404
        ? `${name} was not moved: it is no longer available to you. Reload the board.`
        : `${name} was not moved (the server answered ${status}). Reload the board and try again.`,
    );
  });

  document.addEventListener("htmx:sendError", (event) => {
    const form = event.detail && event.detail.elt;
    if (form instanceof Element && form.matches("form.board-move")) {
      putBack();
      announce("The move could not be sent: check your connection and try again.");
    }
  });
})();
