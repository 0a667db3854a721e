// Refreshes the dataset page's import progress bar from GET /api/v1/datasets/<id>/jobs while the
// import runs; reloads the page once it ended, so the dataset's fields show the imported data. Until the
// import's worker claims it, the entry read is the previous import's (or none): keep polling meanwhile.
(() => {
  const box = document.querySelector(".dds-import-live");
  if (!box) return;
  const track = box.querySelector(".dds-import-track");
  const fill = box.querySelector(".dds-import-fill");
  const text = box.querySelector(".dds-import-text");
  const live = new Set(["running", "swapping"]);

  async function poll() {
    let entry;
    try {
      const response = await fetch(box.dataset.jobsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      entry = (await response.json()).import;
    } catch (error) {
      text.textContent = `progress unavailable (${error.message}); retrying`;
      setTimeout(poll, 3000);
      return;
    }
    const unclaimed = "previousAttempt" in box.dataset && (entry?.attempt || "") === box.dataset.previousAttempt;
    if (!entry || unclaimed) {
      setTimeout(poll, 1000);
      return;
    }
    const done = entry.progress || 0;
    const total = entry.total;
    const percent = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
    fill.style.width = `${percent}%`;
    track.setAttribute("aria-valuenow", String(percent));
    text.textContent = [entry.state, entry.phase, `${done}${total ? ` / ${total}` : ""} images`].filter(Boolean).join(" · ");
    if (live.has(entry.state) && !entry.stale) {
      setTimeout(poll, 1000);
    } else {
      window.location.reload();
    }
  }
  setTimeout(poll, 500);
})();
