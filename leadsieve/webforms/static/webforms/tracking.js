// Fills a LeadSieve web form's hidden UTM, landing-page and referrer fields from the page it
// sits on. Loaded by LeadSieve's own form page right after the form; the embeddable snippet
// carries the same text inline (webforms/embed.py), so a pasted form needs no other file.
(function () {
  var form = document.currentScript.previousElementSibling;
  if (!form || form.tagName !== "FORM") { return; }
  var params = new URLSearchParams(window.location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
    var input = form.elements[name];
    if (input && !input.value && params.get(name)) { input.value = params.get(name).slice(0, 160); }
  });
  if (form.elements.landing_page && !form.elements.landing_page.value) {
    form.elements.landing_page.value = window.location.href.slice(0, 500);
  }
  if (form.elements.referrer && !form.elements.referrer.value) {
    form.elements.referrer.value = document.referrer.slice(0, 500);
  }
})();
