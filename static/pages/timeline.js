/* The Timeline dialog: loads the contact, its leads and a page of its interactions after first paint. */
(function () {
  "use strict";

  var zapp = window.zapp;
  var page = zapp.page;
  var list = document.getElementById("timeline");
  var status = document.getElementById("timeline-status");
  var current = 1;

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

  function fact(list, label, value) {
    if (!value) return;
    list.append(zapp.element("dt", null, label), zapp.element("dd", null, value));
  }

  function showProfile(prospect) {
    document.getElementById("contact-name").textContent = prospect.name || "";
    var facts = document.getElementById("facts");
    facts.replaceChildren();
    fact(facts, zapp.text("status"), prospect.status);
    fact(facts, zapp.text("agent"), prospect.agent);
    fact(facts, zapp.text("label"), prospect.label);
    var leads = document.getElementById("leads");
    leads.replaceChildren.apply(leads, (prospect.leads || []).map(function (lead) {
      var item = zapp.element("li", "lead");
      var details = zapp.element("dl", "facts");
      fact(details, zapp.text("source"), lead.source);
      fact(details, zapp.text("campaign"), lead.campaign);
      fact(details, zapp.text("product"), lead.product);
      if (lead.created) item.append(zapp.element("time", "when", zapp.formatDate(lead.created)));
      item.append(details);
      return item;
    }));
    document.getElementById("leads-title").hidden = !(prospect.leads || []).length;
    document.getElementById("profile").hidden = false;
  }

  function showPager(data) {
    var pager = document.getElementById("pager");
    pager.hidden = data.pages < 2;
    document.getElementById("page-of").textContent = zapp.text("pageOf")
      .replace("%(page)s", data.page).replace("%(pages)s", data.pages);
    document.getElementById("newer").disabled = data.page <= 1;
    document.getElementById("older").disabled = data.page >= data.pages;
  }

  function show(data) {
    current = data.page;
    showProfile(data.prospect);
    if (!data.interactions.length) {
      status.textContent = zapp.text("empty");
      status.hidden = false;
      return;
    }
    list.replaceChildren.apply(list, data.interactions.map(entry));
    list.hidden = false;
    status.hidden = true;
    showPager(data);
    if (data.truncated) {
      var note = document.getElementById("timeline-truncated");
      note.textContent = zapp.text("truncated");
      note.hidden = false;
    }
  }

  function fail(error) {
    status.textContent = error.message || zapp.text("failed");
    status.classList.add("error");
    status.hidden = false;
  }

  function load(number) {
    return zapp.call(page.urls.data + "&page=" + encodeURIComponent(number)).then(show, fail);
  }

  document.getElementById("newer").addEventListener("click", function () { load(current - 1); });
  document.getElementById("older").addEventListener("click", function () { load(current + 1); });
  load(1);
})();
