/* The emulated LMS's dynamic registration page: when the tool's frame posts org.imsglobal.lti.close
   (LTI Dynamic Registration §3.6.1), go back to the tool list, where the new tool is listed, as Moodle does. */
(function () {
  "use strict";
  var frame = document.getElementById("registration-frame");
  if (!frame) { return; }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.origin !== frame.dataset.toolOrigin || data.subject !== "org.imsglobal.lti.close") { return; }
    document.getElementById("registration-status").textContent = "The tool is registered.";
    window.location.assign(frame.dataset.doneUrl);
  });
}());
