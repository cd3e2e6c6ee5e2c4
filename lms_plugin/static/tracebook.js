/* Student pages: keep the LMS iframe as tall as the page (Canvas lti.frameResize), check quiz answers
   without a reload, and save test choices as they are made. Every call carries the session token in an
   Authorization header; the forms work without this script. */
(function () {
  "use strict";

  function resize() {
    if (window.parent === window) { return; }
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
  }
  window.addEventListener("load", resize);
  if (window.ResizeObserver) { new ResizeObserver(resize).observe(document.documentElement); }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.message || "The answer was not recorded."); }
        return data;
      });
    });
  }

  var quiz = document.getElementById("quiz");
  if (quiz) {
    quiz.addEventListener("submit", function (event) {
      var form = event.target;
      var chosen = form.querySelector("input[name=option]:checked");
      var feedback = form.querySelector(".feedback");
      event.preventDefault();
      if (!chosen) { feedback.textContent = "Choose an answer first."; return; }
      var fieldset = form.querySelector("fieldset");
      fieldset.disabled = true;
      post(quiz.dataset.api, quiz.dataset.token, { question: form.dataset.question, option: chosen.value })
        .then(function (data) {
          var right = form.querySelector('[data-option="' + data.correct_option + '"]');
          right.classList.add("option-correct");
          right.insertAdjacentHTML("beforeend", '<span class="option-mark">Right answer</span>');
          if (!data.correct) {
            var mine = chosen.closest(".option");
            mine.classList.add("option-wrong");
            mine.insertAdjacentHTML("beforeend", '<span class="option-mark">Your answer</span>');
          }
          var button = form.querySelector("button");
          if (button) { button.remove(); }
          feedback.textContent = data.feedback;
          feedback.classList.add(data.correct ? "feedback-correct" : "feedback-wrong");
          if (data.completed) {
            document.getElementById("quiz-score").textContent =
              "You answered " + data.score + " of " + data.total + " correctly.";
            document.getElementById("quiz-done").hidden = false;
          }
          resize();
        })
        .catch(function (error) { fieldset.disabled = false; feedback.textContent = error.message; });
    });
  }

  var test = document.getElementById("test-form");
  if (test) {
    var status = document.getElementById("test-save-status");
    test.addEventListener("change", function (event) {
      var input = event.target;
      if (input.type !== "radio") { return; }
      status.textContent = "Saving…";
      post(test.dataset.api, test.dataset.token, { question: input.name.slice(2), option: input.value })
        .then(function () { status.textContent = "All changes saved."; })
        .catch(function (error) { status.textContent = error.message; });
    });
    test.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (!submitter || submitter.value !== "submit") { return; }
      var unanswered = test.querySelectorAll("fieldset").length - test.querySelectorAll("input:checked").length;
      var question = unanswered > 0
        ? unanswered + " question(s) are unanswered and will count as wrong. Submit the test?"
        : "Submit the test? You cannot change your answers afterwards.";
      if (!window.confirm(question)) { event.preventDefault(); }
    });
  }
}());
