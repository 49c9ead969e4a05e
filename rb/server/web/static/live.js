// rb serve's web view: follow a running execution's events and show them.
// The page says which stream to read (data-events); nothing else is fetched.
"use strict";
(function () {
  const root = document.querySelector("[data-events]");
  if (!root) return;
  const status = document.getElementById("status");
  const done = document.getElementById("finished");
  const states = {
    step_started: "running",
    step_succeeded: "succeeded",
    step_failed: "failed",
    step_skipped: "skipped",
    step_waiting: "waiting",
  };
  function show(step, state) {
    for (const cell of document.querySelectorAll("[data-step-state]")) {
      if (cell.dataset.stepState === step) cell.textContent = state;
    }
  }
  function setStatus(text) {
    status.textContent = text;
    status.dataset.status = text;
  }
  const source = new EventSource(root.dataset.events);
  for (const [type, state] of Object.entries(states)) {
    source.addEventListener(type, (e) => show(JSON.parse(e.data).step_id, state));
  }
  source.addEventListener("step_restored", (e) => {
    const data = JSON.parse(e.data);
    show(data.step_id, data.status);
  });
  source.addEventListener("run_started", () => setStatus("running"));
  source.addEventListener("parked", (e) => setStatus(JSON.parse(e.data).status));
  source.addEventListener("run_finished", (e) => setStatus(JSON.parse(e.data).status));
  source.addEventListener("end", (e) => {
    const status = JSON.parse(e.data).status;
    setStatus(status);
    // A waiting run goes on once approved or sent its event: the browser
    // reconnects by itself and the server holds the stream until then.
    if (status === "waiting") return;
    source.close();
    if (done) done.hidden = false;
  });
})();
