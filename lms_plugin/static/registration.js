/* LTI Dynamic Registration, last step (LTI-DR §3.6.1): tell the LMS page that opened the registration that it
   is done, so it closes the frame or window. The message carries nothing secret, and a platform's page may
   live on another origin than its configuration, so it goes to any origin, as the specification shows. */
(function () {
  "use strict";
  if (!document.getElementById("lti-registered")) { return; }
  var platform = window.opener || (window.parent !== window ? window.parent : null);
  if (platform) { platform.postMessage({ subject: "org.imsglobal.lti.close" }, "*"); }
}());
