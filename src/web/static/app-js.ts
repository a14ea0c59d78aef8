// The admin page's script, served as /static/app.js (the CSP forbids inline scripts): actions through
// the JSON API with the CSRF header, local times, and live updates from the event stream.
export const APP_JS = `'use strict';
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var toastTimer;

  function toast(text, bad) {
    var t = document.getElementById('toast');
    if (!t) return;
    t.textContent = text;
    t.className = 'toast show' + (bad ? ' bad' : '');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.className = 'toast'; }, 4000);
  }

  function ago(ms) {
    var s = Math.round((Date.now() - ms) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var text = s < 60 ? s + ' s' : s < 3600 ? Math.round(s / 60) + ' min' : s < 86400 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d';
    return future ? 'in ' + text : text + ' ago';
  }

  function localTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (el) {
      var ms = Date.parse(el.getAttribute('datetime'));
      if (isNaN(ms)) return;
      el.title = new Date(ms).toLocaleString();
      el.textContent = new Date(ms).toLocaleString([], { dateStyle: 'short', timeStyle: 'medium' }) + ' (' + ago(ms) + ')';
    });
  }

  function api(url, method, body) {
    var headers = { 'x-csrf-token': csrf };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(url, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = {};
          try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
          if (!res.ok) throw new Error(data.error || data.message || ('HTTP ' + res.status));
          return data;
        });
      });
  }

  document.addEventListener('click', function (ev) {
    var btn = ev.target.closest('button[data-post]');
    if (!btn) return;
    var question = btn.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    btn.disabled = true;
    api(btn.getAttribute('data-post'), btn.getAttribute('data-method') || 'POST')
      .then(function () { toast(btn.getAttribute('data-done') || 'Done'); refresh(); })
      .catch(function (err) { toast(err.message, true); })
      .finally(function () { btn.disabled = false; });
  });

  document.addEventListener('submit', function (ev) {
    var form = ev.target.closest('form[data-api]');
    if (!form) return;
    ev.preventDefault();
    var body = {};
    new FormData(form).forEach(function (value, key) {
      if (value === '') return;
      var input = form.elements.namedItem(key);
      body[key] = input && input.type === 'number' ? Number(value) : value;
    });
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    var target = form.getAttribute('data-result') && document.getElementById(form.getAttribute('data-result'));
    if (target) { target.className = 'check-result'; target.textContent = 'Testing…'; }
    api(form.getAttribute('data-api'), 'POST', body)
      .then(function (data) {
        if (target) {
          target.className = 'check-result ' + (data.ok ? 'check-ok' : 'check-bad');
          target.textContent = (data.ok ? '✓ ' : '✗ ') + data.subject + ': ' + data.detail + (data.hint ? ' — Fix: ' + data.hint : '');
        } else {
          toast(form.getAttribute('data-done') || 'Done');
          refresh();
        }
      })
      .catch(function (err) {
        if (target) { target.className = 'check-result check-bad'; target.textContent = err.message; }
        else toast(err.message, true);
      })
      .finally(function () { if (button) button.disabled = false; });
  });

  var refreshTimer;
  var refreshing = false;
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(doRefresh, 300);
  }
  function doRefresh() {
    if (refreshing) { refresh(); return; }
    var live = document.querySelectorAll('[data-live][id]');
    if (live.length === 0) return;
    refreshing = true;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(new Error('HTTP ' + res.status)); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        live.forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh || el.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
          el.innerHTML = fresh.innerHTML;
          localTimes(el);
        });
        document.dispatchEvent(new CustomEvent('postbote:refreshed'));
      })
      .catch(function () {})
      .finally(function () { refreshing = false; });
  }

  localTimes(document);
  if (csrf && window.EventSource) {
    var source = new EventSource('/api/events');
    ['pass', 'message', 'state', 'listed', 'action'].forEach(function (type) {
      source.addEventListener(type, refresh);
    });
  }
  setInterval(function () { localTimes(document); }, 30000);
})();
`;
