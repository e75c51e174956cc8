// Palisade's progressive enhancement. Every page works without this script; with it, an open
// incident page follows changes as they are recorded (server-sent events) and countdowns tick.
(function () {
  'use strict';

  function human(seconds) {
    var s = Math.abs(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + (m < 10 ? '0' : '') + m + 'm';
    if (m > 0) return m + 'm';
    return (s % 60) + 's';
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll('.countdown[data-due]').forEach(function (el) {
      var due = Date.parse(el.getAttribute('data-due'));
      if (isNaN(due)) return;
      var left = Math.round((due - now) / 1000);
      el.textContent = left < 0 ? 'overdue by ' + human(-left) : 'in ' + human(left);
    });
  }

  // A region may be replaced when nobody is typing in it.
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) return true;
    var fields = region.querySelectorAll('textarea, input[type=text]');
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
    }
    var open = region.querySelectorAll('details[open]');
    return open.length > 0;
  }

  function refresh(main, status) {
    fetch(location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.querySelector('main[data-live]');
        if (!fresh) return;
        var skipped = 0;
        fresh.querySelectorAll('[data-region]').forEach(function (region) {
          var old = main.querySelector('[data-region="' + region.getAttribute('data-region') + '"]');
          if (!old) return;
          if (busy(old)) { skipped++; return; }
          old.replaceWith(document.importNode(region, true));
        });
        main.setAttribute('data-version', fresh.getAttribute('data-version'));
        if (status) {
          status.textContent = 'Updated ' + new Date().toLocaleTimeString() +
            (skipped ? ' (reload to see changes where you are typing)' : '');
        }
        tick();
      })
      .catch(function () { /* the next change or a reload will catch up */ });
  }

  function live() {
    var main = document.querySelector('main[data-live]');
    if (!main || !window.EventSource) return;
    var status = main.querySelector('.live-status');
    var source = new EventSource(main.getAttribute('data-live'));
    source.addEventListener('changed', function (e) {
      if (Number(e.data) > Number(main.getAttribute('data-version'))) refresh(main, status);
    });
    source.addEventListener('gone', function () {
      source.close();
      if (status) status.textContent = 'You no longer have access to this incident.';
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 30000);
    live();
  });
})();
