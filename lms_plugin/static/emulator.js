/* The emulated LMS in the browser: auto-submit the id_token form, resize the tool's frame on
   lti.frameResize, and (in the storage frame) answer LTI Platform Storage messages. */
(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }

  var frame = document.getElementById("tool-frame");
  if (frame) {
    window.addEventListener("message", function (event) {
      var data = event.data || {};
      if (event.origin !== frame.dataset.toolOrigin || data.subject !== "lti.frameResize") { return; }
      var height = parseInt(data.height, 10);
      if (height > 0) { frame.style.height = Math.min(height, 20000) + "px"; }
    });
  }

  var storage = document.getElementById("platform-storage");
  if (storage) {
    var values = {};  // per tool origin, as the spec requires; this frame lives as long as the course page
    window.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.subject !== "lti.put_data" && data.subject !== "lti.get_data") { return; }
      var bucket = values[event.origin] = values[event.origin] || {};
      var reply = { subject: data.subject + ".response", message_id: data.message_id, key: data.key };
      if (data.subject === "lti.put_data") { bucket[data.key] = data.value; reply.value = data.value; }
      else { reply.value = Object.prototype.hasOwnProperty.call(bucket, data.key) ? bucket[data.key] : null; }
      event.source.postMessage(reply, event.origin);
    });
  }
}());
