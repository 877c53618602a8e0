/* The framework every framed page shares: its data block, localized strings, and follow-up calls
   that carry the page's context token. Everything from Sales goes into the DOM as text, never as HTML. */
(function () {
  "use strict";

  var node = document.getElementById("zapp-page");
  var page = node ? JSON.parse(node.textContent) : {};

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

  /* A follow-up call: JSON (or a FormData for files), with the token in X-Zapp-Context. */
  function call(url, options) {
    options = options || {};
    var headers = { "Accept": "application/json", "X-Zapp-Context": page.context || "" };
    var init = {
      method: options.method || "GET",
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    };
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    } else if (options.form) {
      init.body = options.form;
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var failure = new Error((body.error && body.error.message) || text("failed"));
          failure.status = response.status;
          throw failure;
        }
        return body;
      });
    });
  }

  window.zapp = { page: page, text: text, element: element, safeHref: safeHref, formatDate: formatDate, call: call };
})();
