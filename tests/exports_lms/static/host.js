// The SCORM host page's script: one scorm-again API for one SCO, as an LMS player creates it. The server writes
// the launch's settings into #host-config: the SCORM version, the commit URL, the data an LMS hands back on a
// relaunch (flattened CMI: suspend data, location, entry "resume", …) and the neighbouring SCOs for navigation.
"use strict";

const config = JSON.parse(document.getElementById("host-config").textContent);
// Every error the runtime logs (a refused SetValue, a call out of order) is kept for the test to read.
window.hostErrors = [];
const settings = {
  lmsCommitUrl: config.commitUrl,
  dataCommitFormat: "flattened",
  autocommit: false,
  // The commit LMSFinish / Terminate sends carries {"finalCommit": true}: the host knows a session ended.
  terminateCommitPayloadField: "finalCommit",
  logLevel: 4,
  onLogMessage: (level, message) => {
    if (level >= 4) {
      window.hostErrors.push(message);
    }
  },
};
const api = config.version === "1.2" ? new Scorm12API(settings) : new Scorm2004API(settings);
if (Object.keys(config.launchData).length > 0) {
  api.loadFromFlattenedJSON(config.launchData);
}
window[config.version === "1.2" ? "API" : "API_1484_11"] = api;

// SCORM 2004 navigation requests (adl.nav.request, acted on at Terminate): the LMS delivers the next SCO in the
// organization's order, here by loading its launch page in place of this one.
const targets = { SequenceNext: config.next, SequencePrevious: config.previous };
for (const [event, target] of Object.entries(targets)) {
  api.on(event, () => {
    window.hostNavigation = event;
    if (target) {
      window.location.assign(target);
    }
  });
}

document.getElementById("sco").src = config.scoUrl;
