// Dataset gallery: label-set toggles and confidence sliders act at once on the drawn annotations, and
// are kept in every link and form of the page; filter selects submit their form; the image selection
// for flagging (select page, shift-click for a range) enables the flag buttons.

const filters = document.getElementById("gal-filters");
const hidden = new Set([...document.querySelectorAll("[data-toggle-label]")]
  .filter((box) => !box.checked).map((box) => box.dataset.toggleLabel));
const minConf = new Map([...document.querySelectorAll("[data-conf-label]")]
  .map((slider) => [slider.dataset.confLabel, Number(slider.value)]));

function isVisible(element) {
  const label = element.dataset.label;
  if (hidden.has(label)) return false;
  return element.dataset.type !== "Pred" || Number(element.dataset.conf) >= (minConf.get(label) || 0);
}

function withState(params) {
  params.delete("hide");
  for (const key of [...params.keys()]) if (key.startsWith("conf_")) params.delete(key);
  for (const label of [...hidden].sort()) params.append("hide", label);
  for (const [label, conf] of minConf) if (conf > 0) params.set(`conf_${label}`, String(conf));
  return params;
}

function keepState() {
  for (const link of document.querySelectorAll("a[data-keep]")) {
    const url = new URL(link.getAttribute("href"), window.location.href);
    withState(url.searchParams);
    link.setAttribute("href", url.pathname + url.search);
  }
  for (const field of document.querySelectorAll("input[name=return_query]")) {
    field.value = withState(new URLSearchParams(field.value)).toString();
  }
  if (filters) {
    for (const old of filters.querySelectorAll("input[name=hide]")) old.remove();
    for (const label of hidden) {
      const input = document.createElement("input");
      Object.assign(input, { type: "hidden", name: "hide", value: label });
      filters.append(input);
    }
  }
  const here = new URL(window.location.href);
  withState(here.searchParams);
  window.history.replaceState(null, "", here.pathname + here.search);
}

function apply() {
  for (const element of document.querySelectorAll(".ov, .ov-row")) {
    element.classList.toggle("off", !isVisible(element));
  }
  keepState();
}

for (const box of document.querySelectorAll("[data-toggle-label]")) {
  box.addEventListener("change", () => {
    if (box.checked) hidden.delete(box.dataset.toggleLabel);
    else hidden.add(box.dataset.toggleLabel);
    apply();
  });
}

for (const slider of document.querySelectorAll("[data-conf-label]")) {
  const output = slider.parentElement.querySelector("output");
  slider.addEventListener("input", () => {
    minConf.set(slider.dataset.confLabel, Number(slider.value));
    if (output) output.value = Number(slider.value).toFixed(2);
    apply();
  });
}

for (const select of document.querySelectorAll("[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
if (filters) {
  // the sliders belong to the filter form; a slider at 0 need not travel
  filters.addEventListener("formdata", (event) => {
    for (const [key, value] of [...event.formData.entries()]) {
      if ((key.startsWith("conf_") && Number(value) === 0) || value === "") event.formData.delete(key);
    }
  });
  for (const button of filters.querySelectorAll(".gal-apply")) button.hidden = true;
}

// the object list of one image: pointing at a row highlights its shapes
for (const row of document.querySelectorAll("tr.ov-row")) {
  const shapes = document.querySelectorAll(`g.ov[data-index="${row.dataset.index}"]`);
  row.addEventListener("mouseenter", () => shapes.forEach((shape) => shape.classList.add("hl")));
  row.addEventListener("mouseleave", () => shapes.forEach((shape) => shape.classList.remove("hl")));
}

// --- selection for flagging -------------------------------------------------------------------
const boxes = [...document.querySelectorAll("input[name=ids][type=checkbox]")];
const selectAll = document.querySelector("[data-select-all]");
const counter = document.querySelector("[data-selected-count]");
let lastClicked = null;

function updateSelection() {
  const selected = boxes.filter((box) => box.checked).length;
  if (counter) counter.textContent = `${selected} selected`;
  for (const button of document.querySelectorAll("[data-needs-selection]")) button.disabled = selected === 0;
  if (selectAll) {
    selectAll.checked = selected > 0 && selected === boxes.length;
    selectAll.indeterminate = selected > 0 && selected < boxes.length;
  }
  for (const box of boxes) box.closest(".gal-tile")?.classList.toggle("selected", box.checked);
}

boxes.forEach((box, index) => {
  box.addEventListener("click", (event) => {
    if (event.shiftKey && lastClicked !== null) {
      const [from, to] = [Math.min(lastClicked, index), Math.max(lastClicked, index)];
      for (const other of boxes.slice(from, to + 1)) other.checked = box.checked;
    }
    lastClicked = index;
    updateSelection();
  });
});
selectAll?.addEventListener("change", () => {
  for (const box of boxes) box.checked = selectAll.checked;
  updateSelection();
});

updateSelection();
apply();
