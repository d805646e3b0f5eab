/* The loan step's live schedule: as the borrower changes the terms, ask the public calculator
   (POST /api/v1/schedule-preview/, the same engine as the server) and draw the installments table.
   Without this script the "Preview schedule" button draws the same table on the server. */
(function () {
  "use strict";
  var form = document.getElementById("loan-terms");
  var target = document.getElementById("schedule-preview");
  if (!form || !target || !window.fetch) { return; }
  var url = form.getAttribute("data-preview-url");
  var today = form.getAttribute("data-today");
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var timer = null;
  var asked = 0; // answers to older questions are dropped

  function value(name) {
    var field = form.elements[name];
    if (!field) { return ""; }
    if (field.length !== undefined && field.tagName !== "SELECT") { // a radio group
      for (var i = 0; i < field.length; i++) { if (field[i].checked) { return field[i].value; } }
      return "";
    }
    return (field.value || "").trim();
  }

  function money(text, currency) { // as the server's money filter: $1,234.56, or UGX 5,000
    var parts = String(text).split(".");
    var whole = parts[0].replace(/^-/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var body = whole + (parts.length > 1 ? "." + parts[1] : "");
    var sign = String(text).charAt(0) === "-" ? "-" : "";
    return currency === "USD" ? sign + "$" + body : sign + currency + " " + body;
  }

  function day(iso) { // 2026-02-05 -> 5 Feb 2026, as the server's date filter "j M Y"
    var p = iso.split("-");
    return parseInt(p[2], 10) + " " + MONTHS[parseInt(p[1], 10) - 1] + " " + p[0];
  }

  function cell(tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) { el.className = cls; }
    return el;
  }

  function say(text, isError) {
    target.replaceChildren(cell("p", text, isError ? "preview-error" : "muted"));
  }

  function draw(data) {
    var c = data.currency, rows = data.installments;
    var table = document.createElement("table");
    table.className = "schedule";
    table.setAttribute("data-testid", "schedule");
    var total = money(data.totals.total, c);
    table.appendChild(cell("caption", rows.length + " repayment" + (rows.length === 1 ? "" : "s") + ", " + total + " in all"));
    var head = table.createTHead().insertRow();
    [["No.", ""], ["Due date", ""], ["Repayment", "num"], ["Still owed after", "num"]].forEach(function (h) {
      var th = cell("th", h[0], h[1]);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = table.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      tr.appendChild(cell("td", String(row.number)));
      tr.appendChild(cell("td", day(row.due_date)));
      tr.appendChild(cell("td", money(row.total, c), "num"));
      tr.appendChild(cell("td", money(row.balance, c), "num"));
    });
    var foot = table.createTFoot().insertRow();
    var th = cell("th", "Total");
    th.scope = "row";
    th.colSpan = 2;
    foot.appendChild(th);
    foot.appendChild(cell("td", total, "num"));
    foot.appendChild(cell("td", ""));
    var wrap = document.createElement("div");
    wrap.className = "table-scroll";
    wrap.appendChild(table);
    target.replaceChildren(wrap);
  }

  function problem(body) { // the API's one error shape: {"error": {"message", "fields": {name: [..]}}}
    var error = (body && body.error) || {};
    var fields = error.fields || {};
    var names = {principal: "Amount", repayments: "Number of repayments", repayment_every: "Weeks between repayments"};
    for (var name in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, name)) {
        return (names[name] || name) + ": " + fields[name][0];
      }
    }
    return error.message || "The schedule could not be worked out.";
  }

  function terms() {
    var amount = value("amount").replace(/[,$\s]/g, "");
    var repayments = value("repayments");
    if (!/^\d+(\.\d+)?$/.test(amount) || Number(amount) <= 0) { return null; }
    if (!/^\d+$/.test(repayments) || Number(repayments) < 1) { return null; }
    var weeks = value("interval") === "weeks";
    var every = weeks ? value("every_weeks") : "1";
    if (!/^\d+$/.test(every) || Number(every) < 1) { return null; }
    return {
      principal: amount,
      currency: value("currency"),
      repayments: Number(repayments),
      repayment_every: Number(every),
      repayment_frequency: weeks ? "weeks" : "months",
      disbursement_date: today
    };
  }

  function ask() {
    var body = terms();
    if (!body) { say("Enter an amount and a number of repayments to see your schedule.", false); return; }
    var mine = ++asked;
    target.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body),
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (mine !== asked) { return; }
        if (response.ok) { draw(data); }
        else if (response.status === 429) { say("Too many previews in a minute: wait a moment, or press “Preview schedule”.", true); }
        else { say(problem(data), true); }
      });
    }).catch(function () {
      if (mine === asked) { say("The preview is not available right now: press “Preview schedule”.", true); }
    }).then(function () {
      if (mine === asked) { target.removeAttribute("aria-busy"); }
    });
  }

  function weeksShown() { // the weeks field matters only when repaying every few weeks
    var box = form.querySelector("[data-weeks]");
    if (box) { box.hidden = value("interval") !== "weeks"; }
  }

  function changed() {
    weeksShown();
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  weeksShown();
  if (terms() && !target.querySelector("table")) { ask(); }
}());
