// Signoff console: keyboard keys, the lease countdown, and honest active time on task.
// Everything works without this file; it only makes the pages quicker to use.
(function () {
  "use strict";
  var body = document.body;
  var IDLE_MS = (parseInt(body.getAttribute("data-idle-cutoff"), 10) || 60) * 1000;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" && el.type !== "radio" && el.type !== "checkbox" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // Active time: counted only while the tab is visible and the reviewer has acted within IDLE_MS.
  var activeField = document.getElementById("active_ms");
  var active = 0, lastInput = Date.now(), lastTick = Date.now();
  function tick() {
    var now = Date.now();
    if (document.visibilityState === "visible" && now - lastInput <= IDLE_MS) {
      active += now - lastTick;
    }
    lastTick = now;
    if (activeField) activeField.value = String(active);
  }
  if (activeField) {
    ["keydown", "pointerdown", "pointermove", "scroll", "wheel", "touchstart"].forEach(function (name) {
      window.addEventListener(name, function () { tick(); lastInput = Date.now(); }, { passive: true });
    });
    document.addEventListener("visibilitychange", tick);
    setInterval(tick, 1000);
    var form = document.getElementById("signoff");
    if (form) form.addEventListener("submit", tick);
  }

  // Lease countdown.
  var lease = document.getElementById("lease");
  if (lease) {
    var end = Date.now() + parseInt(lease.getAttribute("data-seconds"), 10) * 1000;
    var show = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      lease.textContent = left > 0 ? Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + " left"
                                   : "expired: claim again";
    };
    show();
    setInterval(show, 1000);
  }

  // One key per action, n for next, ? for the list, Ctrl+Enter to submit.
  document.addEventListener("keydown", function (ev) {
    var form = document.getElementById("signoff");
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && form) {
      ev.preventDefault();
      tick();
      form.requestSubmit();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (ev.key === "?") {
      var dialog = document.getElementById("keys");
      if (dialog && !dialog.open) { ev.preventDefault(); dialog.showModal(); }
      return;
    }
    var target = document.querySelector('[data-key="' + ev.key + '"]');
    if (!target) return;
    ev.preventDefault();
    if (target.type === "radio") {
      target.checked = true;
      var next = target.value === "approve" ? document.getElementById("submit") :
                 target.value === "reject" ? document.getElementById("reason") : document.getElementById("outcome");
      if (next) next.focus();
    } else {
      target.click();
    }
  });
})();
