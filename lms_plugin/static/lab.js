/* The lab chat: send the message with fetch (the session token in an Authorization header, so it works in an
   LMS iframe with third-party cookies blocked), show the reply as it streams — as plain text, so nothing the
   model writes can run — then swap in the server's safe rendering with the trace tree. Without this script
   the form posts and the page comes back with the reply. */
(function () {
  "use strict";

  var form = document.getElementById("chat-form");
  if (!form || !window.fetch || !window.TextDecoder) { return; }
  var log = document.getElementById("chat-log");
  var field = document.getElementById("chat-message");
  var errorBox = document.getElementById("chat-error");
  var button = form.querySelector("button");
  var notes = document.getElementById("name-notes");

  function item(className, text) {
    var li = document.createElement("li");
    li.className = "message " + className;
    if (text !== undefined) { li.textContent = text; }
    log.appendChild(li);
    return li;
  }

  function updateStatus(data) {
    var progress = document.getElementById("lab-progress");
    progress.textContent = data.progress;
    if (data.complete) {
      progress.appendChild(document.createTextNode(" — "));
      var strong = document.createElement("strong");
      strong.textContent = "Lab complete";
      progress.appendChild(strong);
    }
    data.rubric.forEach(function (entry) {
      var li = document.querySelector('#rubric [data-id="' + entry.id + '"]');
      if (!li) { return; }
      li.classList.toggle("rubric-done", entry.ticked);
      li.querySelector(".rubric-mark").textContent = entry.ticked ? "✓" : "○";
      li.querySelector(".rubric-state").textContent = entry.ticked ? "Done:" : "Not yet:";
    });
  }

  function tracePanel(number, data) {
    var details = document.createElement("details");
    details.className = "your-trace";
    details.id = "trace-" + number;
    var summary = document.createElement("summary");
    summary.textContent = "Your trace";
    details.appendChild(summary);
    var list = document.createElement("dl");
    list.className = "trace-summary";
    Object.keys(data.summary).forEach(function (label) {
      if (!data.summary[label]) { return; }
      var dt = document.createElement("dt");
      dt.textContent = label;
      var dd = document.createElement("dd");
      dd.textContent = data.summary[label];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    details.appendChild(list);
    // The tree is the server's rendering: every value in it was escaped there.
    if (data.trace) { details.insertAdjacentHTML("beforeend", data.trace); }
    if (notes) { details.appendChild(notes.content.cloneNode(true)); }
    return details;
  }

  function finish(bubble, data) {
    bubble.textContent = "";
    var reply = document.createElement("div");
    reply.className = "reply";
    // Rendered on the server from Markdown with no HTML allowed and links restricted to http(s).
    reply.innerHTML = data.html;
    bubble.appendChild(reply);
    bubble.appendChild(tracePanel(data.number, data));
    updateStatus(data);
  }

  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { return; }
        buffer += decoder.decode(chunk.value, { stream: true });
        var boundary;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          var name = "message";
          var data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) { name = line.slice(7); }
            if (line.indexOf("data: ") === 0) { data += line.slice(6); }
          });
          onEvent(name, data ? JSON.parse(data) : null);
        }
        return pump();
      });
    }
    return pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = field.value;
    if (!text.trim()) { errorBox.textContent = "Write a message first: an empty message cannot be sent."; return; }
    errorBox.textContent = "";
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    var mine = null;
    var bubble = null;
    var streamed = "";
    fetch(form.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream",
                 "Authorization": "Bearer " + form.dataset.token },
      body: JSON.stringify({ message: text })
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (data) { throw new Error(data.message || "The message was not sent."); });
      }
      field.value = "";
      return readEvents(response, function (name, data) {
        if (name === "started") {
          mine = item("message-learner", text);
          mine.id = "exchange-" + data.number;
          bubble = item("message-assistant message-streaming");
          bubble.setAttribute("aria-busy", "true");
        } else if (name === "delta") {
          streamed += data.text;
          bubble.textContent = streamed;
        } else if (name === "done") {
          bubble.classList.remove("message-streaming");
          bubble.removeAttribute("aria-busy");
          finish(bubble, data);
          bubble = null;
        } else if (name === "error") {
          throw new Error(data.message);
        }
      }).then(function () {
        if (bubble) { throw new Error("The connection was cut before the reply ended. Reload the page to see it."); }
      });
    }).catch(function (error) {
      if (bubble) {
        bubble.className = "message message-system";
        bubble.removeAttribute("aria-busy");
        bubble.textContent = "No reply was recorded for this message.";
        bubble = null;
      }
      errorBox.textContent = error.message;
      if (!field.value) { field.value = text; }
    }).then(function () {
      button.disabled = false;
      form.removeAttribute("aria-busy");
      field.focus();
    });
  });
})();
