// The console's small progressive touches; every page works without them.
// A form sent once shows it is working and cannot be sent again by a second click (the server applies a
// batch or a repayment once anyway: this only spares people the doubt).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.setAttribute("aria-busy", "true");
    var button = event.submitter || form.querySelector("button[type=submit]");
    if (button) {
      // Disabled after the browser has read the form, so the button's own name/value still goes with it.
      window.setTimeout(function () {
        button.disabled = true;
        if (form.dataset.busyLabel) {
          button.dataset.label = button.textContent;
          button.textContent = form.dataset.busyLabel;
        }
      }, 0);
    }
  });
  // Back-forward cache: a page shown again must be usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[disabled]").forEach(function (b) {
        b.disabled = false;
        if (b.dataset.label) b.textContent = b.dataset.label;
      });
    });
  });
})();
