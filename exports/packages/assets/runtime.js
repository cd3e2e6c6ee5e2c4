/* Tracebook package runtime: one script for SCORM 1.2, SCORM 2004 4th edition and cmi5 (issue 7).
 *
 * An adapter per format talks to the LMS (SCORM 1.2 RTE §3.4, SCORM 2004 4th ed. RTE §3–4, cmi5 §8–§11); the
 * unit logic (lesson, quiz, test, lab) is shared and sees only this interface:
 *   start()                      -> Promise of {state, location}: what the learner did before, or null
 *   answer(question, option, ok)    one interaction (SCORM) or "answered" statement (cmi5)
 *   score(right, total)             the unit's score
 *   completed()                     the unit is done (called once per learner record of the unit)
 *   verdict(passed, final)          the module test's pass or fail; final: no attempt left or passed
 *   save(location)                  the resume data: the shared `state` object, compact
 *   finish(done, nav)               end of the session (SCORM 2004: an optional navigation request)
 */
(function () {
  "use strict";

  // SCORM 1.2 allows 4,096 characters of cmi.suspend_data and runtimes do not enforce it: we do. The state is
  // small by design (one character per question), so only a broken state could reach the limit.
  var SUSPEND_LIMIT = 4096;
  var CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
  var MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon";
  var MASTERY_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore";
  var STATE_ID = "tracebook-progress";
  var VERBS = "http://adlnet.gov/expapi/verbs/";

  var body = document.body;
  var data = JSON.parse(document.getElementById("unit-data").textContent);
  var startedAt = Date.now();
  // {a: answers, one character per question ("-": none, else the option's index), n: test attempts submitted,
  //  b: best right answers, l: last attempt's right answers, p: 1 when passed, s: 1 while a test attempt is open,
  //  c: 1 once completion was reported, v: "p"/"f" once a cmi5 verdict was sent, o: lab checks opened ("0"/"1")}
  var state = {};

  // The tool's stylesheet gives .button and .actions a display, which beats the hidden attribute: set both.
  function reveal(element, shown) {
    element.hidden = !shown;
    element.style.display = shown ? "" : "none";
  }

  function say(text) {
    document.getElementById("runtime-status").textContent = text;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function elapsed() {
    return (Date.now() - startedAt) / 1000;
  }

  function isoDuration(seconds) {
    return "PT" + (Math.round(seconds * 100) / 100) + "S";
  }

  function encodeState() {
    var text = JSON.stringify(state);
    if (text.length >= SUSPEND_LIMIT) {
      // Keep the results and drop the open answers rather than let the LMS truncate the JSON into garbage.
      text = JSON.stringify({n: state.n, b: state.b, l: state.l, p: state.p, c: state.c, v: state.v});
    }
    return text;
  }

  function decodeState(text) {
    try {
      var found = text ? JSON.parse(text) : null;
      return found && typeof found === "object" ? found : null;
    } catch (error) {
      return null;
    }
  }

  // The ADL API discovery algorithm: up to 7 parents, then the opener's chain.
  function findApi(name) {
    function walk(win) {
      for (var level = 0; win && level <= 7; level += 1) {
        try {
          if (win[name]) return win[name];
        } catch (error) { /* a cross-origin frame: keep climbing */ }
        if (win.parent === win) break;
        win = win.parent;
      }
      return null;
    }
    return walk(window) || (window.opener ? walk(window.opener) : null);
  }

  function scormAdapter(api, v) {
    // v: the version's names; 1.2 and 2004 agree on everything else.
    function get(key) {
      return String(api[v.get](key) || "");
    }
    function set(key, value) {
      api[v.set](key, String(value));
    }
    function now() {
      var d = new Date();
      return v.timestamp(d);
    }
    return {
      mastery: null,
      start: function () {
        if (String(api[v.init]("")) !== "true") return Promise.reject(new Error("the LMS refused to start"));
        var status = get(v.completion);
        if (status === "not attempted" || status === "unknown" || status === "") set(v.completion, "incomplete");
        return Promise.resolve({state: decodeState(get(v.suspend)), location: get(v.location)});
      },
      answer: function (question, option, ok) {
        var prefix = "cmi.interactions." + (Number(get("cmi.interactions._count")) || 0) + ".";
        set(prefix + "id", question.id);
        set(prefix + "type", "choice");
        set(prefix + v.time, now());
        set(prefix + "weighting", 1);
        set(prefix + "correct_responses.0.pattern", question.correct);
        set(prefix + v.response, option);
        set(prefix + "result", ok ? "correct" : v.wrong);
      },
      score: function (right, total) {
        set(v.score + "raw", Math.round((right / total) * 100));
        set(v.score + "min", 0);
        set(v.score + "max", 100);
        if (v.scaled) set(v.scaled, Math.round((right / total) * 10000) / 10000);
      },
      completed: function () {
        var status = get(v.completion);
        if (status !== "passed" && status !== "failed") set(v.completion, "completed");
      },
      verdict: function (passed) {
        set(v.success, passed ? "passed" : "failed");
      },
      save: function (location) {
        set(v.suspend, encodeState());
        // scorm-again refuses an empty cmi.location (2004): a finished unit keeps the last one.
        if (location) set(v.location, location);
        api[v.commit]("");
        return Promise.resolve();
      },
      finish: function (done, nav) {
        set(v.sessionTime, v.duration(elapsed()));
        set(v.exit, done ? v.normalExit : "suspend");
        if (nav) set("adl.nav.request", nav);
        api[v.commit]("");
        api[v.finish]("");
        return Promise.resolve();
      }
    };
  }

  var SCORM12 = {
    init: "LMSInitialize", get: "LMSGetValue", set: "LMSSetValue", commit: "LMSCommit", finish: "LMSFinish",
    completion: "cmi.core.lesson_status", success: "cmi.core.lesson_status", suspend: "cmi.suspend_data",
    location: "cmi.core.lesson_location", score: "cmi.core.score.", scaled: null, time: "time",
    response: "student_response", wrong: "wrong", sessionTime: "cmi.core.session_time", exit: "cmi.core.exit",
    normalExit: "",
    timestamp: function (d) {
      return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    },
    duration: function (seconds) {
      var s = Math.floor(seconds);
      return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
    }
  };

  var SCORM2004 = {
    init: "Initialize", get: "GetValue", set: "SetValue", commit: "Commit", finish: "Terminate",
    completion: "cmi.completion_status", success: "cmi.success_status", suspend: "cmi.suspend_data",
    location: "cmi.location", score: "cmi.score.", scaled: "cmi.score.scaled", time: "timestamp",
    response: "learner_response", wrong: "incorrect", sessionTime: "cmi.session_time", exit: "cmi.exit",
    normalExit: "normal",
    timestamp: function (d) {
      // RTE 4.1.1.7: at most two digits of fractional seconds.
      return d.toISOString().slice(0, 22) + "Z";
    },
    duration: isoDuration
  };

  function uuid() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  function cmi5Adapter(params) {
    var endpoint = params.get("endpoint").replace(/\/?$/, "/");
    var actor = JSON.parse(params.get("actor"));
    var registration = params.get("registration");
    var activityId = params.get("activityId");
    var auth = null;
    var launch = {};
    var scaled = null;
    var queue = Promise.resolve(); // statements go out one after the other, in the order they happened
    var adapter;

    function xapi(method, path, query, payload, keepalive) {
      var url = endpoint + path + (query ? "?" + new URLSearchParams(query).toString() : "");
      var headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"};
      if (payload !== undefined) headers["Content-Type"] = "application/json";
      return fetch(url, {
        method: method, headers: headers, keepalive: Boolean(keepalive),
        body: payload === undefined ? undefined : JSON.stringify(payload)
      }).then(function (response) {
        if (response.status === 404 && method === "GET") return null;
        if (!response.ok) throw new Error(method + " " + path + ": HTTP " + response.status);
        return response.status === 204 || method !== "GET" ? null : response.json();
      });
    }

    function stateQuery(stateId) {
      return {stateId: stateId, activityId: activityId, agent: JSON.stringify(actor), registration: registration};
    }

    function statement(verb, options) {
      var context = JSON.parse(JSON.stringify(launch.contextTemplate || {}));
      var activities = context.contextActivities = context.contextActivities || {};
      context.registration = registration;
      (options.categories || []).forEach(function (id) {
        (activities.category = activities.category || []).push({id: id});
      });
      if (options.parent) (activities.parent = activities.parent || []).push(options.parent);
      if (options.grouping) (activities.grouping = activities.grouping || []).push(options.grouping);
      if (options.extensions) {
        context.extensions = context.extensions || {};
        Object.keys(options.extensions).forEach(function (key) { context.extensions[key] = options.extensions[key]; });
      }
      var made = {
        id: uuid(), actor: actor, verb: {id: VERBS + verb, display: {"en-US": verb}},
        object: options.object || {objectType: "Activity", id: activityId},
        context: context, timestamp: new Date().toISOString()
      };
      if (options.result) made.result = options.result;
      return made;
    }

    function send(verb, options, keepalive) {
      var made = statement(verb, options);
      queue = queue.then(function () { return xapi("POST", "statements", null, made, keepalive); });
      queue = queue.catch(function (error) { say("Your progress could not be recorded: " + error.message); });
      return queue;
    }

    function judging() {
      // cmi5 §10.2.2: in Browse or Review mode an AU must not send completed, passed or failed.
      return (launch.launchMode || "Normal") === "Normal";
    }

    adapter = {
      mastery: null,
      returnURL: null,
      start: function () {
        return fetch(params.get("fetch"), {method: "POST"})
          .then(function (response) { return response.json(); })
          .then(function (token) {
            if (!token["auth-token"]) throw new Error("the LMS gave no auth token (" + token["error-text"] + ")");
            auth = "Basic " + token["auth-token"];
            return xapi("GET", "activities/state", stateQuery("LMS.LaunchData"));
          })
          .then(function (launchData) {
            launch = launchData || {};
            adapter.mastery = typeof launch.masteryScore === "number" ? launch.masteryScore : null;
            adapter.returnURL = launch.returnURL || null;
            return xapi("GET", "activities/state", stateQuery(STATE_ID));
          })
          .then(function (saved) {
            send("initialized", {categories: [CMI5_CATEGORY]});
            return {state: saved, location: ""};
          });
      },
      answer: function (question, option, ok) {
        send("answered", {
          object: question.activity,
          parent: {objectType: "Activity", id: data.activity},
          grouping: data.module,
          result: {response: option, success: ok, score: {scaled: ok ? 1 : 0, raw: ok ? 1 : 0, min: 0, max: 1}}
        });
      },
      score: function (right, total) {
        scaled = Math.round((right / total) * 10000) / 10000;
      },
      completed: function () {
        if (!judging()) return;
        send("completed", {categories: [CMI5_CATEGORY, MOVEON_CATEGORY], result: {completion: true,
          duration: isoDuration(elapsed())}});
      },
      verdict: function (passed, final) {
        // Passed or failed once per registration: failed only when no attempt is left, so a later pass can still
        // be reported.
        if (!judging() || state.v || (!passed && !final)) return;
        state.v = passed ? "p" : "f";
        var extensions = {};
        if (adapter.mastery !== null) extensions[MASTERY_EXTENSION] = adapter.mastery;
        send(passed ? "passed" : "failed", {
          categories: [CMI5_CATEGORY, MOVEON_CATEGORY], extensions: extensions,
          result: {score: {scaled: scaled}, success: passed, duration: isoDuration(elapsed())}
        });
      },
      save: function (location) {
        var saved = JSON.parse(encodeState());
        queue = queue.then(function () { return xapi("PUT", "activities/state", stateQuery(STATE_ID), saved); });
        return queue;
      },
      finish: function () {
        return send("terminated", {categories: [CMI5_CATEGORY], result: {duration: isoDuration(elapsed())}}, true);
      }
    };
    return adapter;
  }

  var offline = {
    mastery: null,
    start: function () { return Promise.resolve({state: null, location: ""}); },
    answer: function () {},
    score: function () {},
    completed: function () {},
    verdict: function () {},
    save: function () { return Promise.resolve(); },
    finish: function () { return Promise.resolve(); }
  };

  function pickAdapter() {
    var format = body.getAttribute("data-format");
    var found = null;
    if (format === "cmi5") {
      var params = new URLSearchParams(window.location.search);
      if (params.get("endpoint") && params.get("fetch")) return cmi5Adapter(params);
    } else {
      found = findApi(format === "scorm2004" ? "API_1484_11" : "API");
      if (found) return scormAdapter(found, format === "scorm2004" ? SCORM2004 : SCORM12);
    }
    say("Not connected to a learning management system: your progress here is not recorded.");
    return offline;
  }

  var lms = pickAdapter();
  var finished = false;

  function completeOnce() {
    if (state.c) return;
    state.c = 1;
    lms.completed();
  }

  // ---- Shared question handling: quizzes and the test.
  var questions = (data.questions || []).map(function (question) {
    var item = document.getElementById("q-" + question.id);
    return {data: question, item: item, radios: Array.prototype.slice.call(item.querySelectorAll("input[type=radio]"))};
  });

  function answers() {
    var text = state.a || "";
    while (text.length < questions.length) text += "-";
    return text;
  }

  function setAnswer(index, optionIndex) {
    var text = answers();
    state.a = text.slice(0, index) + (optionIndex < 0 ? "-" : optionIndex.toString(36)) + text.slice(index + 1);
  }

  function chosenIndex(index) {
    var mark = answers().charAt(index);
    return mark === "-" ? -1 : parseInt(mark, 36);
  }

  function firstOpen() {
    var index = answers().indexOf("-");
    return index < 0 ? "" : questions[index].data.id;
  }

  function mark(q, showRight, showWrong) {
    var chosen = chosenIndex(questions.indexOf(q));
    q.radios.forEach(function (radio, i) {
      var row = radio.closest(".option");
      var right = radio.value === q.data.correct;
      row.classList.toggle("option-correct", showRight && right);
      row.classList.toggle("option-wrong", showWrong && i === chosen && !right);
    });
  }

  function reset(q) {
    q.item.querySelector("fieldset").disabled = false;
    q.item.classList.remove("question-right", "question-wrong");
    q.radios.forEach(function (radio) { radio.checked = false; });
    mark(q, false, false);
    var feedback = q.item.querySelector(".feedback");
    feedback.textContent = "";
    feedback.className = "feedback";
  }

  function isRight(q) {
    var chosen = chosenIndex(questions.indexOf(q));
    return chosen >= 0 && q.radios[chosen].value === q.data.correct;
  }

  function rightCount() {
    return questions.filter(isRight).length;
  }

  function passes(right) {
    if (lms.mastery !== null) return right >= lms.mastery * questions.length - 1e-9;
    return right * 100 >= questions.length * data.passPercent;
  }

  function save() {
    return lms.save(firstOpen());
  }

  // ---- Units.
  function lesson() {
    var end = document.getElementById("lesson-end");
    if (state.c || !end) return;
    if (!("IntersectionObserver" in window)) {
      completeOnce();
      save();
      return;
    }
    var watcher = new IntersectionObserver(function (entries) {
      if (!entries.some(function (entry) { return entry.isIntersecting; })) return;
      watcher.disconnect();
      completeOnce();
      save();
    });
    watcher.observe(end);
  }

  function quiz() {
    var done = document.getElementById("quiz-done");

    function show(q) {
      var right = isRight(q);
      q.item.querySelector("fieldset").disabled = true;
      q.radios[chosenIndex(questions.indexOf(q))].checked = true;
      mark(q, true, true);
      var feedback = q.item.querySelector(".feedback");
      feedback.textContent = right ? q.data.feedback.correct : q.data.feedback.incorrect;
      feedback.className = "feedback " + (right ? "feedback-correct" : "feedback-wrong");
    }

    function showDone() {
      var all = answers().indexOf("-") < 0;
      reveal(done, all);
      if (all) {
        document.getElementById("quiz-score").textContent =
          "You answered " + rightCount() + " of " + questions.length + " correctly.";
      }
      return all;
    }

    questions.forEach(function (q, index) {
      if (chosenIndex(index) >= 0) show(q);
      q.item.querySelector("button.check").addEventListener("click", function () {
        var chosen = q.radios.findIndex(function (radio) { return radio.checked; });
        if (chosen < 0) {
          var feedback = q.item.querySelector(".feedback");
          feedback.textContent = "Choose an answer first.";
          feedback.className = "feedback feedback-wrong";
          return;
        }
        setAnswer(index, chosen);
        lms.answer(q.data, q.radios[chosen].value, isRight(q));
        show(q);
        if (showDone()) {
          lms.score(rightCount(), questions.length);
          completeOnce();
        }
        save();
      });
    });
    showDone();
    document.getElementById("retake").addEventListener("click", function () {
      state.a = "";
      questions.forEach(reset);
      reveal(done, false);
      save();
      questions[0].radios[0].focus();
    });
  }

  function test() {
    var form = document.getElementById("test-form");
    var result = document.getElementById("test-result");
    var retake = document.getElementById("retake");
    var attempts = data.attempts;

    function over() {
      return Boolean(state.p) || (state.n || 0) >= attempts;
    }

    function showResult() {
      var right = state.l;
      var percent = Math.round((right / questions.length) * 100);
      var answersShown = data.review.answers === "after-submit" ||
        (data.review.answers === "after-pass-or-last-attempt" && over());
      questions.forEach(function (q, index) {
        var chosen = chosenIndex(index);
        q.item.querySelector("fieldset").disabled = true;
        if (chosen >= 0) q.radios[chosen].checked = true;
        mark(q, answersShown, data.review.incorrect);
        if (data.review.incorrect) {
          q.item.classList.add(isRight(q) ? "question-right" : "question-wrong");
          q.item.querySelector(".feedback").innerHTML =
            '<span class="review-mark">' + (isRight(q) ? "Right" : "Wrong") + "</span>";
        }
      });
      reveal(form.querySelector(".actions"), false);
      reveal(result, true);
      result.className = "result " + (state.p ? "result-passed" : "result-failed");
      document.getElementById("test-verdict").textContent = state.p ? "You passed the module test" : "Not passed yet";
      document.getElementById("test-score").textContent =
        "Attempt " + state.n + ": " + right + " of " + questions.length + " right (" + percent + "%).";
      document.getElementById("test-attempts").textContent = state.p ? "" : (attempts - state.n > 0
        ? "You have " + (attempts - state.n) + " of " + attempts + " attempts left. Your best score counts."
        : "You have used all " + attempts + " attempts.");
      reveal(retake, !over());
    }

    function open() {
      questions.forEach(reset);
      questions.forEach(function (q, index) {
        var chosen = chosenIndex(index);
        if (chosen >= 0) q.radios[chosen].checked = true;
      });
      reveal(form.querySelector(".actions"), true);
      reveal(result, false);
    }

    questions.forEach(function (q, index) {
      q.radios.forEach(function (radio, optionIndex) {
        radio.addEventListener("change", function () {
          setAnswer(index, optionIndex);
          state.s = 1;
          save();
        });
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var right = rightCount();
      questions.forEach(function (q, index) {
        var chosen = chosenIndex(index);
        if (chosen >= 0) lms.answer(q.data, q.radios[chosen].value, isRight(q));
      });
      state.n = (state.n || 0) + 1;
      state.l = right;
      state.b = Math.max(state.b || 0, right);
      state.s = 0;
      if (passes(right)) state.p = 1;
      lms.score(state.b, questions.length);
      completeOnce();
      lms.verdict(Boolean(state.p), over());
      save();
      showResult();
      result.focus();
    });
    retake.addEventListener("click", function () {
      state.a = "";
      state.s = 1;
      open();
      save();
      questions[0].radios[0].focus();
    });
    if (state.n && !state.s) showResult();
    else open();
  }

  function lab() {
    var checks = Array.prototype.slice.call(document.querySelectorAll("details.check"));
    var line = document.getElementById("lab-progress");

    function opened() {
      var text = state.o || "";
      while (text.length < checks.length) text += "0";
      return text;
    }

    function report() {
      var count = opened().split("1").length - 1;
      line.textContent = count + " of " + checks.length + " checked" + (count === checks.length ? " — complete" : "");
    }

    checks.forEach(function (check, index) {
      check.addEventListener("toggle", function () {
        if (!check.open || opened().charAt(index) === "1") return;
        state.o = opened().slice(0, index) + "1" + opened().slice(index + 1);
        if (opened().indexOf("0") < 0) completeOnce();
        report();
        save();
      });
    });
    report();
  }

  function isDone() {
    if (data.kind === "test") return Boolean(state.p) || (state.n || 0) >= data.attempts;
    return Boolean(state.c);
  }

  function leave(nav) {
    if (finished) return Promise.resolve();
    finished = true;
    return lms.finish(isDone(), nav);
  }

  function navigation() {
    [["nav-previous", "previous"], ["nav-continue", "continue"]].forEach(function (pair) {
      var button = document.getElementById(pair[0]);
      if (button) button.addEventListener("click", function () { leave(pair[1]); });
    });
    var exit = document.getElementById("nav-exit");
    if (exit && lms.returnURL) {
      reveal(exit, true);
      exit.addEventListener("click", function () {
        leave().then(function () { window.location.assign(lms.returnURL); });
      });
    }
    window.addEventListener("pagehide", function () { leave(); });
  }

  var units = {lesson: lesson, quiz: quiz, test: test, lab: lab};
  lms.start()
    .catch(function (error) {
      say("Your progress could not be recorded: " + error.message);
      lms = offline;
      return {state: null};
    })
    .then(function (resumed) {
      state = resumed.state || {};
      units[data.kind]();
      navigation();
      body.setAttribute("data-ready", "true");
    });
})();
