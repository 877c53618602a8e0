/* The Timeline dialog: loads the contact, its leads, its quotes and a page of its interactions after
   first paint; the agent may correct the contact's names or add a phone or an email in place. */
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
    fact(facts, zapp.text("phones"), (prospect.phones || []).join(", "));
    fact(facts, zapp.text("emails"), (prospect.emails || []).join(", "));
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
    fillContactForm(prospect);
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

  /* -- quotes: value, status and date, newest first ---------------------------------------- */

  function money(value) {
    if (typeof value !== "number") return zapp.text("noValue");
    try {
      return new Intl.NumberFormat(page.language || "en", { maximumFractionDigits: 2 }).format(value);
    } catch (error) {
      return String(value);
    }
  }

  function quote(item) {
    var row = zapp.element("li", "quote quote-" + (item.status || "unknown"));
    row.append(
      zapp.element("span", "quote-value", money(item.total)),
      zapp.element("span", "quote-status", (item.status && page.quoteStatus[item.status]) || item.status || "")
    );
    var when = zapp.element("time", "when", zapp.formatDate(item.createdAt));
    if (item.createdAt) when.dateTime = item.createdAt;
    row.append(when);
    if (item.items) row.append(zapp.element("span", "quote-items", zapp.text("quoteItems").replace("%(count)s", item.items)));
    return row;
  }

  function showQuotes(data) {
    var section = document.getElementById("quotes-section");
    var list = document.getElementById("quotes");
    list.replaceChildren.apply(list, data.quotes.map(quote));
    section.hidden = !data.quotes.length;
  }

  function quotesFailed() {
    var quotesStatus = document.getElementById("quotes-status");
    quotesStatus.textContent = zapp.text("quotesFailed");
    quotesStatus.classList.add("error");
    quotesStatus.hidden = false;
    document.getElementById("quotes-section").hidden = false;
  }

  /* -- correcting the contact ------------------------------------------------------------- */

  var contactForm = document.getElementById("contact-form");
  var editButton = document.getElementById("edit-contact");
  var shown = { firstName: "", lastName: "" };
  var inputs = {
    firstName: document.getElementById("first-name"),
    lastName: document.getElementById("last-name"),
    phone: document.getElementById("add-phone"),
    email: document.getElementById("add-email")
  };

  function fillContactForm(prospect) {
    shown = { firstName: prospect.firstName || "", lastName: prospect.lastName || "" };
    inputs.firstName.value = shown.firstName;
    inputs.lastName.value = shown.lastName;
    editButton.hidden = false;
  }

  function tidy(value) { return value.trim().split(/\s+/).join(" "); }

  /* The server's rules, run before anything is sent: the same messages, the field marked. */
  var PHONE = /^\+?[0-9 ().\-]+$/;
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  function problems() {
    var found = {};
    var phone = tidy(inputs.phone.value);
    var digits = phone.replace(/[^0-9]/g, "").length;
    if (phone && (!PHONE.test(phone) || digits < 8 || digits > 15)) found.phone = zapp.text("badPhone");
    var email = tidy(inputs.email.value);
    if (email && !EMAIL.test(email)) found.email = zapp.text("badEmail");
    if (!tidy(inputs.firstName.value) && shown.firstName) found.firstName = zapp.text("blankName");
    if (!tidy(inputs.lastName.value) && shown.lastName) found.lastName = zapp.text("blankName");
    return found;
  }

  function changes() {
    var body = { prospect: page.prospect };
    var first = tidy(inputs.firstName.value), last = tidy(inputs.lastName.value);
    if (first && first !== shown.firstName) body.firstName = first;
    if (last && last !== shown.lastName) body.lastName = last;
    if (tidy(inputs.phone.value)) body.phone = tidy(inputs.phone.value);
    if (tidy(inputs.email.value)) body.email = tidy(inputs.email.value);
    return body;
  }

  function mark(found) {
    Object.keys(inputs).forEach(function (name) {
      if (found[name]) inputs[name].setAttribute("aria-invalid", "true");
      else inputs[name].removeAttribute("aria-invalid");
    });
    var first = Object.keys(inputs).filter(function (name) { return found[name]; })[0];
    if (first) inputs[first].focus();
  }

  editButton.addEventListener("click", function () {
    var open = contactForm.hidden;
    contactForm.hidden = !open;
    editButton.setAttribute("aria-expanded", String(open));
    if (open) inputs.firstName.focus();
  });
  contactForm.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { contactForm.hidden = true; editButton.setAttribute("aria-expanded", "false"); editButton.focus(); }
  });

  zapp.action(contactForm, {
    url: page.urls.contact,
    done: zapp.text("saved"),
    check: function () {
      var found = problems();
      mark(found);
      var messages = Object.keys(found).map(function (name) { return found[name]; });
      if (messages.length) return messages.join(" ");
      return Object.keys(changes()).length > 1 ? null : zapp.text("nothingToChange");
    },
    body: changes,
    after: function (body) {
      inputs.phone.value = inputs.email.value = "";
      mark({});
      showProfile(body.prospect);
    },
    failed: function (failure) { mark(failure.fields || {}); }
  });

  document.getElementById("newer").addEventListener("click", function () { load(current - 1); });
  document.getElementById("older").addEventListener("click", function () { load(current + 1); });
  load(1);
  zapp.call(page.urls.quotes).then(showQuotes, quotesFailed);
})();
