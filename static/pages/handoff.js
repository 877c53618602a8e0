/* The Handoff dialog: targets, archiving reasons and labels load after first paint. Without an
   act-as-user user in Sales, only notes are possible, and the dialog says how to fix that.
   Agents online now come first; a transfer to one who is not asks for confirmation in place. */
(function () {
  "use strict";

  var zapp = window.zapp;
  var page = zapp.page;
  var status = document.getElementById("handoff-status");
  var agents = {};

  function agentLabel(agent) {
    if (agent.online === true) return agent.name + " \u2014 " + zapp.text("online");
    if (agent.online === false) return agent.name + " \u2014 " + zapp.text("offline");
    return agent.name;
  }

  function showPresence(data) {
    var line = document.getElementById("office-hours");
    var unknown = data.agents.some(function (a) { return a.online === null || a.online === undefined; });
    var said = data.officeHours === true ? "officeHours" : data.officeHours === false ? "outsideOfficeHours" : null;
    var parts = [];
    if (said) parts.push(zapp.text(said));
    if (unknown && data.agents.length) parts.push(zapp.text("presenceUnknown"));
    else if (data.agents.length) {
      var online = data.agents.filter(function (a) { return a.online === true; }).length;
      parts.push(zapp.text("onlineCount").replace("%(online)s", online).replace("%(agents)s", data.agents.length));
    }
    line.textContent = parts.join(" ");
    line.className = "presence" + (data.officeHours === false ? " closed" : data.officeHours === true ? " open" : "");
    line.hidden = !parts.length;
  }

  function fill(select, items, valueKey) {
    select.append.apply(select, items.map(function (item) { return zapp.option(item[valueKey], item.name); }));
  }

  function show(data) {
    document.getElementById("contact-name").textContent = data.prospect.name || "";
    data.agents.forEach(function (a) { agents[a.id] = a; });
    fill(document.getElementById("target-agents"), data.agents.map(function (a) { return { value: "agent:" + a.id, name: agentLabel(a) }; }), "value");
    fill(document.getElementById("target-groups"), data.groups.map(function (g) { return { value: "group:" + g.id, name: g.name }; }), "value");
    fill(document.getElementById("reason"), data.reasons, "value");
    fill(document.getElementById("label"), data.labels, "value");
    if (data.actAsUser) showPresence(data);
    if (!data.actAsUser) {
      var warning = document.getElementById("act-as-user");
      warning.textContent = data.actAsUserMessage || "";
      warning.hidden = false;
      document.querySelectorAll("form.as-user").forEach(function (form) {
        form.querySelectorAll("select, button").forEach(function (control) { control.disabled = true; });
      });
    }
    status.hidden = true;
    document.getElementById("handoff-body").hidden = false;
  }

  function target() {
    var value = document.getElementById("target").value.split(":");
    return { kind: value[0], id: value[1] };
  }

  zapp.action(document.getElementById("transfer-form"), {
    url: page.urls.transfer,
    done: zapp.text("transferred"),
    check: function () { return target().id ? null : zapp.text("chooseTarget"); },
    confirm: function () {
      var chosen = target();
      var agent = chosen.kind === "agent" ? agents[chosen.id] : null;
      return agent && agent.online === false ? zapp.text("confirmOffline").replace("%(name)s", agent.name) : null;
    },
    confirmOn: "agent_offline",
    confirmLabel: zapp.text("transferAnyway"),
    body: function (confirmed) {
      var chosen = target();
      var body = { prospect: page.prospect };
      body[chosen.kind === "agent" ? "agent" : "group"] = chosen.id;
      if (confirmed) body.confirmOffline = true;
      return body;
    }
  });
  zapp.action(document.getElementById("archive-form"), {
    url: page.urls.archive,
    done: zapp.text("archived"),
    body: function () { return { prospect: page.prospect, reason: document.getElementById("reason").value }; }
  });
  zapp.action(document.getElementById("label-form"), {
    url: page.urls.label,
    done: zapp.text("labelled"),
    body: function () { return { prospect: page.prospect, label: document.getElementById("label").value }; }
  });
  zapp.action(document.getElementById("note-form"), {
    url: page.urls.note,
    done: zapp.text("noted"),
    body: function () { return { prospect: page.prospect, content: document.getElementById("note").value }; },
    after: function () { document.getElementById("note").value = ""; }
  });

  zapp.call(page.urls.data).then(show, function (error) {
    status.textContent = error.message || zapp.text("failed");
    status.classList.add("error");
  });
})();
