/* Deep linking: post the tool's signed answer to the platform's return URL at once (LTI Deep Linking 2.0
   §4.5 form_post). A file, not an inline script: the page's Content-Security-Policy forbids those. */
(function () {
  "use strict";
  var form = document.getElementById("deep-link-return");
  if (form) { form.submit(); }
}());
