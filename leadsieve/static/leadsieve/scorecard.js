// Scorecard criterion form: show only the part that applies to the chosen field.
// Without JavaScript both parts stay visible and the server ignores the unused one.
"use strict";

function syncCriterionForm(form) {
  const field = form.querySelector("[name='field']");
  const dimension = form.querySelector("[name='dimension']");
  const points = form.querySelector("[name='points']");
  const isActivity = field && field.value === "@activity";
  for (const part of form.querySelectorAll("[data-part]")) {
    const wanted = part.dataset.part === (isActivity ? "activity" : "condition");
    part.hidden = Boolean(field && field.value) && !wanted;
  }
  if (points && dimension) {
    points.disabled = dimension.value === "disqualify";
  }
}

document.addEventListener("change", (event) => {
  const form = event.target instanceof Element && event.target.closest("form[data-criterion-form]");
  if (form) {
    syncCriterionForm(form);
  }
});

for (const form of document.querySelectorAll("form[data-criterion-form]")) {
  syncCriterionForm(form);
}
