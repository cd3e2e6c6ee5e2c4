/* The admin's exports page: build the package with a progress bar (the server streams one JSON line per file
   written, the last holding the zip), then save it. Without this script the form downloads the zip directly. */
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  var box = document.getElementById("export-progress");
  var bar = document.getElementById("export-bar");
  var status = document.getElementById("export-status");
  var button = document.getElementById("export-build");

  function save(line) {
    var bytes = Uint8Array.from(atob(line.zip), function (c) { return c.charCodeAt(0); });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([bytes], {type: "application/zip"}));
    link.download = line.name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.textContent = "Built " + line.name + " (" + line.size.toLocaleString() + " bytes): saved.";
  }

  function show(line) {
    bar.max = line.total;
    bar.value = line.done;
    status.textContent = line.done + " of " + line.total + " files: " + line.file;
    if (line.zip) save(line);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    box.hidden = false;
    button.disabled = true;
    bar.value = 0;
    status.textContent = "Starting…";
    fetch(form.getAttribute("data-build"), {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var pending = "";
        function read() {
          return reader.read().then(function (chunk) {
            pending += decoder.decode(chunk.value || new Uint8Array(), {stream: !chunk.done});
            var lines = pending.split("\n");
            pending = lines.pop();
            lines.filter(Boolean).forEach(function (text) { show(JSON.parse(text)); });
            return chunk.done ? null : read();
          });
        }
        return read();
      })
      .catch(function (error) { status.textContent = "The build failed: " + error.message + ". Try again."; })
      .then(function () { button.disabled = false; });
  });
})();
