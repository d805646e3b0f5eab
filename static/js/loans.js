/* Lend in one step without leaving the page: the lend form is sent with fetch and the server's
   refreshed funding panel replaces it in place. Without JavaScript the same form posts and redirects. */
(function () {
  "use strict";

  function amountText(form) {
    var select = form.querySelector("select[name=amount_cents]");
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex].text : "";
  }

  /* The button names the amount ("Lend $50.00") as the choice changes. */
  function syncButton(form) {
    var button = form.querySelector("[data-lend-button]");
    var text = amountText(form);
    if (button && text) button.textContent = "Lend " + text;
  }

  function enhance(root) {
    root.querySelectorAll("[data-lend-form]").forEach(syncButton);
  }

  function announce(text) {
    var live = document.querySelector("[data-lend-announcer]");
    if (live) live.textContent = text;
  }

  function showWallet(data) {
    if (typeof data.wallet !== "string") return;
    document.querySelectorAll("[data-wallet-balance]").forEach(function (el) {
      if (!el.dataset.currency || el.dataset.currency === data.currency) el.textContent = data.wallet;
    });
  }

  function replacePanel(form, html) {
    var panel = form.closest("[data-lend-panel]");
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!panel || !fresh) return false;
    panel.replaceWith(fresh);
    enhance(fresh);
    var note = fresh.querySelector("[data-lend-message]");
    if (note) note.focus(); /* read out once, where it happened; keyboard users carry on from there */
    return Boolean(note);
  }

  async function send(form) {
    var button = form.querySelector("[data-lend-button]");
    var label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = "Lending…"; }
    try {
      var response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
        credentials: "same-origin",
      });
      var data = await response.json();
      if (!data.html) throw new Error(data.message || "no panel"); /* logged out meanwhile: let the page say it */
      showWallet(data);
      if (!replacePanel(form, data.html)) announce(data.message || "");
    } catch (err) {
      /* No panel came back (network down, logged out, not JSON): post the plain form, which is idempotent
         and answers with a page (a redirect with the message, the log-in page, or the error page). */
      form.dataset.plain = "1";
      form.submit();
      return;
    } finally {
      if (button && document.body.contains(button)) { button.disabled = false; button.textContent = label; }
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-lend-form]");
    if (form) syncButton(form);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-lend-form]");
    if (!form || form.dataset.plain || !window.fetch) return;
    event.preventDefault();
    if (form.dataset.busy) return; /* a double click sends once; the one-time token guards the server too */
    form.dataset.busy = "1";
    send(form).finally(function () { delete form.dataset.busy; });
  });

  /* Wide screens have room for every filter: open them; phones keep them folded under the sort. */
  if (window.matchMedia && window.matchMedia("(min-width: 760px)").matches) {
    document.querySelectorAll("[data-more-filters]").forEach(function (el) { el.open = true; });
  }

  enhance(document);
})();
