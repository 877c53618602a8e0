/* The framework every framed page shares: its data block, localized strings, and follow-up calls
   that carry the page's context token. Everything from Sales goes into the DOM as text, never as HTML. */
(function () {
  "use strict";

  /* The page's strings (the same on every open in its language) with the page's own data on top. */
  function block(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }
  var page = Object.assign(block("zapp-page-strings"), block("zapp-page"));

  function text(key) {
    return (page.messages && page.messages[key]) || key;
  }

  function element(tag, className, content) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (content !== undefined && content !== null) made.textContent = String(content);
    return made;
  }

  /* Only absolute http(s) links are ever put in an href; the server drops the others too. */
  function safeHref(url) {
    return typeof url === "string" && /^https?:\/\/[^\s]/i.test(url) ? url : null;
  }

  function formatDate(iso) {
    var date = iso ? new Date(iso) : null;
    if (!date || isNaN(date.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(page.language || "en", { dateStyle: "medium", timeStyle: "short" }).format(date);
    } catch (error) {
      return date.toISOString();
    }
  }

  /* A follow-up call: JSON (or a FormData for files), with the token in X-Zapp-Context; with
     options.blob, a successful answer comes back as a Blob (a download) instead of JSON. */
  function call(url, options) {
    options = options || {};
    var headers = { "Accept": options.accept || "application/json", "X-Zapp-Context": page.context || "" };
    var init = {
      method: options.method || "GET",
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    };
    if (options.key) headers["Idempotency-Key"] = options.key;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    } else if (options.form) {
      init.body = options.form;
    }
    return fetch(url, init).then(function (response) {
      if (response.ok && options.blob) return response.blob();
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = body.error || {};
          var failure = new Error(error.message || text("failed"));
          failure.status = response.status;
          failure.code = error.code || null;
          failure.sales = error.sales || null;
          failure.fields = error.fields || {};
          throw failure;
        }
        return body;
      });
    });
  }

  /* One key per intent: kept for retries and double clicks, dropped once the action is done or edited. */
  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* Say how an action went in its status line: progress, success, or our message plus Sales' own. */
  function report(status, state, message, salesMessage) {
    status.className = "status " + state;
    status.replaceChildren(element("span", null, message));
    if (salesMessage) {
      status.append(" ", element("span", "sales-said", text("salesSaid") + " " + salesMessage));
    }
    status.hidden = false;
  }

  /* Ask in place before an action goes: the question, then "yes" (focused) and "cancel" buttons.
     Keyboard-only friendly: Enter or Space on the focused button answers, Escape cancels. */
  function ask(form, question, yesLabel, onYes) {
    var box = form.querySelector(".confirm");
    if (!box) {
      box = element("div", "confirm");
      box.setAttribute("role", "alertdialog");
      box.setAttribute("aria-live", "assertive");
      form.querySelector(".actions").before(box);
    }
    var yes = element("button", "confirm-yes", yesLabel);
    var no = element("button", "confirm-no secondary", text("cancel"));
    yes.type = no.type = "button";
    var prompt = element("p", "confirm-question", question);
    prompt.id = form.id + "-confirm-question";
    box.setAttribute("aria-labelledby", prompt.id);
    function close() { box.hidden = true; box.replaceChildren(); }
    yes.addEventListener("click", function () { close(); onYes(); });
    no.addEventListener("click", function () {
      close();
      var first = form.querySelector("select, input, textarea");
      if (first) first.focus();
    });
    box.addEventListener("keydown", function (event) { if (event.key === "Escape") no.click(); });
    box.replaceChildren(prompt, yes, no);
    box.hidden = false;
    yes.focus();
  }

  /* Wire a form to an action endpoint: one request at a time, one idempotency key per intent.
     Any change to the form is a new intent; so is a change outside it that the request reads
     (fire "input" on the form for that). options.confirm() may return a question to ask first;
     an answer whose error code is options.confirmOn asks it too. options.body(confirmed) builds
     the request. */
  function action(form, options) {
    var status = form.querySelector(".status");
    var button = form.querySelector("button[type=submit]");
    var intent = null;
    var confirmed = false;
    function confirmThenSend(question) {
      status.hidden = true;
      ask(form, question, options.confirmLabel || text("confirm"), function () {
        confirmed = true;
        send();
      });
    }
    function send() {
      intent = intent || newKey();
      form.dataset.busy = "1";
      var wasDisabled = button.disabled;
      button.disabled = true;
      report(status, "progress", text("sending"));
      var request = options.body(confirmed);
      var sent = request instanceof FormData ? { form: request } : { json: request };
      sent.method = "POST";
      sent.key = intent;
      call(options.url, sent).then(function (body) {
        intent = null;
        confirmed = false;
        report(status, "ok", options.done || text("sent"));
        if (options.after) options.after(body);
      }, function (failure) {
        if (options.confirmOn && failure.code === options.confirmOn && !confirmed) {
          confirmThenSend(failure.message);
          return;
        }
        var fieldText = Object.keys(failure.fields || {}).map(function (name) { return failure.fields[name]; }).join(" ");
        report(status, "error", failure.message + (fieldText ? " " + fieldText : ""), failure.sales);
        if (options.failed) options.failed(failure);
      }).then(function () {
        form.dataset.busy = "0";
        button.disabled = wasDisabled;  // a button the page had disabled stays so
      });
    }
    form.addEventListener("input", function () {
      intent = null;
      confirmed = false;
      var box = form.querySelector(".confirm");
      if (box) { box.hidden = true; box.replaceChildren(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.busy === "1") return;
      var problem = options.check ? options.check() : null;
      if (problem) { report(status, "error", problem); return; }
      var question = !confirmed && options.confirm ? options.confirm() : null;
      if (question) { confirmThenSend(question); return; }
      send();
    });
  }

  function option(value, label) {
    var made = element("option", null, label);
    made.value = value;
    return made;
  }

  window.zapp = {
    page: page, text: text, element: element, safeHref: safeHref, formatDate: formatDate, call: call,
    newKey: newKey, report: report, action: action, option: option, ask: ask
  };
})();
