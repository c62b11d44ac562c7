// Draws the figures the server built (Plotly, served locally) and wires the controls.
// No data is fetched here: the page carries it, so a chart shows what the table shows.
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // Plotly reads a few HTML-like tags in annotation text: show user text as text.
  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function withAnnotations(layout, marks) {
    if (!marks.length || !layout.xaxis || layout.xaxis.type !== "date") return layout;
    layout.shapes = (layout.shapes || []).concat(marks.map(function (m) {
      return { type: "line", x0: m.t, x1: m.t, yref: "paper", y0: 0, y1: 1,
               line: { color: "#6b7280", width: 1, dash: "dot" } };
    }));
    layout.annotations = (layout.annotations || []).concat(marks.map(function (m) {
      return { x: m.t, y: 1, yref: "paper", xanchor: "left", yanchor: "top", showarrow: false,
               text: plain(m.text), captureevents: true, bgcolor: "rgba(255,255,255,0.85)",
               font: { size: 11, color: "#374151" }, hovertext: "Open before / after" };
    }));
    return layout;
  }

  function drawCharts() {
    var figures = readJson("chart-data") || {};
    var marks = readJson("annotation-data") || [];
    var slots = document.querySelectorAll("[data-chart]");
    var pending = slots.length;
    if (!pending) { document.body.dataset.chartsDrawn = "0"; return; }
    slots.forEach(function (slot) {
      var figure = figures[slot.dataset.chart];
      if (!figure) { slot.hidden = true; if (--pending === 0) document.body.dataset.chartsDrawn = String(slots.length); return; }
      var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
      window.Plotly.newPlot(slot, figure.data, withAnnotations(figure.layout, marks), config).then(function () {
        slot.dataset.rendered = "true";
        slot.on("plotly_clickannotation", function (event) {
          var first = (figure.layout.annotations || []).length - marks.length;
          var mark = marks[event.index - first];
          if (mark) window.location.href = mark.href;
        });
        if (--pending === 0) document.body.dataset.chartsDrawn = String(slots.length);
      });
    });
  }

  function wireControls() {
    var range = document.getElementById("range");
    var custom = document.getElementById("custom-range");
    if (range && custom) {
      range.addEventListener("change", function () {
        custom.hidden = range.value !== "custom";
        if (range.value !== "custom") range.form.submit();
      });
    }
    var refresh = document.getElementById("refresh");
    if (refresh) refresh.addEventListener("change", function () { refresh.form.submit(); });
    var scenario = document.getElementById("scenario");
    var customScenario = document.querySelector(".custom-scenario");
    if (scenario && customScenario) {
      var toggle = function () { customScenario.hidden = scenario.value !== "custom"; };
      scenario.addEventListener("change", toggle);
      toggle();
    }
    autoRefresh(readJson("refresh-seconds"));
  }

  // Every form field's state, to tell whether one has changed since the page loaded (a
  // reload would lose it). Taken from the live fields, not their default attributes: the
  // browser normalises some (a datetime-local "…T20:55:00" reads back as "…T20:55").
  // The range and refresh selects submit themselves, so they never hold a change.
  function fieldStates() {
    var states = [];
    var fields = document.querySelectorAll("form input, form textarea, form select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.id === "range" || field.id === "refresh" || field.type === "hidden") continue;
      states.push(field.type === "checkbox" || field.type === "radio" ? String(field.checked) : field.value);
    }
    return JSON.stringify(states);
  }

  function typing() {
    var active = document.activeElement;
    if (!active || !active.form) return false;
    return active.tagName === "TEXTAREA" ||
      (active.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|hidden)$/.test(active.type));
  }

  // Reload every `seconds`, but not under someone filling in a form (the reload would lose
  // it: wait a further period, and say so) nor in a hidden tab (nobody sees it, the
  // database still pays: reload when it is shown again).
  function autoRefresh(seconds) {
    if (!(seconds > 0)) return;
    var note = document.getElementById("refresh-paused");
    var loaded = fieldStates();
    var skipped = false;
    var tick = function () {
      var editing = fieldStates() !== loaded || typing();
      if (note) note.hidden = !editing;
      document.body.dataset.refreshPaused = editing || document.hidden ? "true" : "false";
      if (document.hidden) skipped = true;
      else if (editing) window.setTimeout(tick, seconds * 1000);
      else window.location.reload();
    };
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && skipped) {
        skipped = false;
        tick();
      }
    });
    window.setTimeout(tick, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireControls();
    drawCharts();  // Plotly is only loaded on pages that have figures
  });
})();
