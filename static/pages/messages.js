/* The Messages dialog: channels and templates load after first paint; each send carries one
   idempotency key per intent. WhatsApp's parameter rule and the file limits are checked here for
   a quick answer and again on the server, which is what counts. */
(function () {
  "use strict";

  var zapp = window.zapp;
  var page = zapp.page;
  var status = document.getElementById("messages-status");
  var channelSelect = document.getElementById("channel");
  var templateSelect = document.getElementById("template");
  var parameterBox = document.getElementById("parameters");
  var preview = document.getElementById("preview");
  var data = null;

  function currentChannel() {
    return data.channels.filter(function (c) { return c.channel === channelSelect.value; })[0];
  }

  function currentTemplate() {
    var channel = currentChannel();
    return channel && channel.templates.filter(function (t) { return t.key === templateSelect.value; })[0];
  }

  function parameterProblem(value) {
    if (value.indexOf("    ") >= 0) return "four";
    if (/[\r\n\t]/.test(value)) return "break";
    if (!value.trim()) return "empty";
    return null;
  }

  function showParameters() {
    var template = currentTemplate();
    parameterBox.querySelectorAll("label").forEach(function (node) { node.remove(); });
    (template ? template.parameters : []).forEach(function (parameter) {
      var label = zapp.element("label", "field");
      var input = zapp.element("input");
      input.name = parameter.name;
      input.value = parameter.value;
      input.maxLength = 1000;
      input.dataset.parameter = parameter.name;
      input.addEventListener("input", showPreview);
      label.append(zapp.element("span", null, parameter.name), input);
      parameterBox.append(label);
    });
    parameterBox.hidden = !template || !template.parameters.length;
    showPreview();
  }

  function parameterValues() {
    var values = {};
    parameterBox.querySelectorAll("input[data-parameter]").forEach(function (input) {
      values[input.dataset.parameter] = input.value;
    });
    return values;
  }

  function showPreview() {
    var template = currentTemplate();
    var values = parameterValues();
    var body = template ? template.body : "";
    preview.textContent = body.replace(/\{\{\s*([A-Za-z0-9_.]{1,64})\s*\}\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : all;
    });
  }

  function showChannel() {
    var channel = currentChannel();
    templateSelect.replaceChildren.apply(templateSelect, channel.templates.map(function (t) {
      return zapp.option(t.key, t.name);
    }));
    document.getElementById("template-form").hidden = !channel.templates.length;
    var windowState = document.getElementById("window-state");
    var open = Boolean(channel.windowOpenUntil);
    windowState.textContent = open
      ? zapp.text("windowOpen").replace("%(time)s", zapp.formatDate(channel.windowOpenUntil))
      : zapp.text("windowClosed");
    windowState.className = "window " + (open ? "open" : "closed");
    document.getElementById("text").disabled = !open;
    document.getElementById("send-text").disabled = !open;
    showParameters();
  }

  function show(loaded) {
    data = loaded;
    document.getElementById("contact-name").textContent = data.prospect.name || "";
    if (!data.channels.length) {
      status.textContent = zapp.text("noChannels");
      return;
    }
    channelSelect.replaceChildren.apply(channelSelect, data.channels.map(function (c) {
      return zapp.option(c.channel, zapp.text(c.channel));
    }));
    document.getElementById("channel-field").hidden = data.channels.length < 2;
    showChannel();
    status.hidden = true;
    document.getElementById("messages-body").hidden = false;
  }

  function fileProblem() {
    var input = document.getElementById("file");
    var file = input.files && input.files[0];
    if (!file) return zapp.text("chooseFile");
    var extension = (file.name.match(/\.[^.]+$/) || [""])[0].toLowerCase();
    var kind = page.files.filter(function (k) { return k.extensions.indexOf(extension) >= 0; })[0];
    if (!kind) return zapp.text("wrongType");
    if (file.size > kind.maxBytes) return zapp.text("tooLarge");
    return null;
  }

  channelSelect.addEventListener("change", function () {
    showChannel();
    // Every send reads the channel: another channel is another intent, with a key of its own.
    document.querySelectorAll("form").forEach(function (form) {
      form.dispatchEvent(new Event("input"));
    });
  });
  templateSelect.addEventListener("change", showParameters);

  zapp.action(document.getElementById("template-form"), {
    url: page.urls.template,
    check: function () {
      var values = parameterValues();
      var bad = Object.keys(values).filter(function (name) { return parameterProblem(values[name]); });
      bad.forEach(function (name) {
        parameterBox.querySelector('input[data-parameter="' + CSS.escape(name) + '"]').setAttribute("aria-invalid", "true");
      });
      return bad.length ? page.messages.parameterRule || null : null;
    },
    body: function () {
      return { prospect: page.prospect, channel: channelSelect.value, key: templateSelect.value, parameters: parameterValues() };
    }
  });

  zapp.action(document.getElementById("text-form"), {
    url: page.urls.text,
    check: function () { return document.getElementById("text").value.trim() ? null : page.messages.writeSomething || null; },
    body: function () {
      return { prospect: page.prospect, channel: channelSelect.value, content: document.getElementById("text").value };
    },
    after: function () { document.getElementById("text").value = ""; }
  });

  zapp.action(document.getElementById("file-form"), {
    url: page.urls.file,
    check: fileProblem,
    body: function () {
      var form = new FormData();
      form.append("prospect", page.prospect);
      form.append("channel", channelSelect.value);
      form.append("file", document.getElementById("file").files[0]);
      return form;
    },
    after: function () { document.getElementById("file").value = ""; }
  });

  zapp.call(page.urls.data).then(show, function (error) {
    status.textContent = error.message || zapp.text("failed");
    status.classList.add("error");
  });
})();
