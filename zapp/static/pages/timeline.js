/* The Timeline dialog: loads the contact and its interactions after first paint and lists them. */
(function () {
  "use strict";

  var zapp = window.zapp;
  var page = zapp.page;
  var list = document.getElementById("timeline");
  var status = document.getElementById("timeline-status");

  function entry(item) {
    var row = zapp.element("li", "entry");
    var head = zapp.element("div", "entry-head");
    var when = zapp.element("time", "when", zapp.formatDate(item.createdAt));
    if (item.createdAt) when.dateTime = item.createdAt;
    head.append(zapp.element("span", "via", (item.via && page.via[item.via]) || item.via || zapp.text("other")), when);
    if (item.proactive) head.append(zapp.element("span", "proactive", zapp.text("proactive")));
    row.append(head);
    if (item.text) row.append(zapp.element("p", "text", item.text));
    if (item.agent) row.append(zapp.element("p", "agent", item.agent));
    var href = item.attachment && zapp.safeHref(item.attachment.url);
    if (href) {
      var link = zapp.element("a", "attachment", zapp.text("attachment"));
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      row.append(link);
    }
    return row;
  }

  function show(data) {
    document.getElementById("contact-name").textContent = data.prospect.name || "";
    if (!data.interactions.length) {
      status.textContent = zapp.text("empty");
      return;
    }
    list.replaceChildren.apply(list, data.interactions.map(entry));
    list.hidden = false;
    status.hidden = true;
    if (data.truncated) {
      var note = document.getElementById("timeline-truncated");
      note.textContent = zapp.text("truncated");
      note.hidden = false;
    }
  }

  function fail(error) {
    status.textContent = error.message || zapp.text("failed");
    status.classList.add("error");
  }

  zapp.call(page.urls.data).then(show, fail);
})();
