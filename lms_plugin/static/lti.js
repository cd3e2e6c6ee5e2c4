/* LTI login and launch in the browser: LTI Platform Storage (lti.put_data / lti.get_data), the cookie
   check, and the new-window fallback. No inline script: the page's Content-Security-Policy forbids it. */
(function () {
  "use strict";
  var STORAGE_TIMEOUT_MS = 3000;
  // A platform storage frame that is still loading drops messages (its listener is not there yet), so a
  // request is sent again until it is answered; put_data and get_data are safe to repeat.
  var STORAGE_RESEND_MS = 200;

  function status(text) {
    var el = document.getElementById("lti-login-status");
    if (el) { el.textContent = text; }
  }

  function storageFrame(target) {
    if (target === "_parent") { return window.parent; }
    try { return window.parent.frames[target] || null; } catch (e) { return null; }
  }

  function ask(target, origin, subject, fields) {
    return new Promise(function (resolve, reject) {
      var frame = storageFrame(target);
      if (!frame || window.parent === window) { reject(new Error("no platform storage frame")); return; }
      var id = "tb-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      var message = { subject: subject, message_id: id };
      Object.keys(fields).forEach(function (k) { message[k] = fields[k]; });
      function send() { frame.postMessage(message, origin); }
      var timer = setTimeout(function () { cleanup(); reject(new Error("platform storage did not answer")); },
                             STORAGE_TIMEOUT_MS);
      var resend = setInterval(send, STORAGE_RESEND_MS);
      function onMessage(event) {
        var data = event.data || {};
        if (event.origin !== origin || data.message_id !== id || data.subject !== subject + ".response") { return; }
        cleanup();
        if (data.error) { reject(new Error(data.error.message || data.error.code)); } else { resolve(data); }
      }
      function cleanup() {
        clearTimeout(timer);
        clearInterval(resend);
        window.removeEventListener("message", onMessage);
      }
      window.addEventListener("message", onMessage);
      send();
    });
  }

  function cookiesWork() {
    document.cookie = "tb_cookie_check=1; path=/; SameSite=None; Secure";
    var ok = document.cookie.indexOf("tb_cookie_check=1") !== -1;
    document.cookie = "tb_cookie_check=; path=/; max-age=0; SameSite=None; Secure";
    return ok;
  }

  function offerNewWindow() {
    status("");
    var section = document.getElementById("lti-new-window");
    section.hidden = false;
    document.getElementById("lti-new-window-link").focus();
  }

  function login(el) {
    var d = el.dataset;
    var go = function () { window.location.replace(d.authUrl); };
    if (d.storageTarget) {
      ask(d.storageTarget, d.platformOrigin, "lti.put_data", { key: "tb_state_" + d.state, value: d.state })
        .then(go, offerNewWindow);
    } else if (d.newWindow || cookiesWork()) {
      go();
    } else {
      offerNewWindow();
    }
  }

  function confirmFromStorage(el) {
    var d = el.dataset;
    ask(d.storageTarget, d.platformOrigin, "lti.get_data", { key: "tb_state_" + d.state })
      .then(function (answer) {
        return fetch(d.confirmUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify({ handle: d.handle, state: answer.value })
        });
      })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (result) {
        if (result[0]) { window.location.replace(result[1].redirect); } else { status(result[1].message); }
      })
      .catch(function (error) { status("The activity could not open: " + error.message + ". Open it again from your course."); });
  }

  var loginEl = document.getElementById("lti-login");
  if (loginEl) { login(loginEl); }
  var checkEl = document.getElementById("lti-storage-check");
  if (checkEl) { confirmFromStorage(checkEl); }
}());
