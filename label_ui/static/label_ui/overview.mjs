// The task page for owners, managers and leaders: counters, who is assigned, and every image with
// its per-role statuses. It reads the REST API only, and refreshes itself while open.

import { ApiError, makeApi } from "./api.mjs";

const config = JSON.parse(document.getElementById("label-config").textContent);
const api = makeApi(config);
const taskPath = `/label-projects/${config.projectId}/tasks/${config.taskId}`;
const STATUSES = ["labeling", "reviewing", "rejected", "accepted"];
const REFRESH_MS = 5000;
const $ = (selector) => document.querySelector(selector);

function html(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== "") node.textContent = text;
  return node;
}

function roleRows(task) {
  const rows = [];
  if (task.label_leader) rows.push(task.label_leader);
  if (task.review_leader) rows.push(task.review_leader);
  return rows.concat(task.labelers || [], task.reviewers || []);
}

const GRID_PAGE = 200;

async function someImages() {
  // The leader's view filters on one status at a time: the first images of each status, by idx.
  const pages = await Promise.all(
    STATUSES.map((status) => api("GET", `${taskPath}/images?status=${status}&page_size=${GRID_PAGE}`)),
  );
  const images = pages.flatMap((page) => page.results).sort((a, b) => a.idx - b.idx);
  const hidden = pages.reduce((sum, page) => sum + page.count - page.results.length, 0);
  return { images, hidden };
}

function renderCounters(task) {
  // The label leader's counters count the task's images by their status (reference §7.8).
  const box = $("#counters");
  box.replaceChildren();
  const leader = task.label_leader;
  const values = leader
    ? [leader.label_num_waiting, leader.review_num_waiting, leader.review_num_rejected, leader.review_num_accepted]
    : STATUSES.map(() => "–");
  const items = [["images", task.num_total], ...STATUSES.map((s, i) => [s, values[i]])];
  for (const [name, value] of items) {
    const counter = html("div", { class: "counter", "data-counter": name });
    counter.append(html("strong", {}, String(value)), html("span", { class: "muted" }, name));
    box.append(counter);
  }
  $("#task-status").textContent = task.status;
  $("#task-status").className = `badge status-${task.status}`;
}

function renderPeople(task) {
  const body = $("#people tbody");
  body.replaceChildren();
  for (const role of roleRows(task)) {
    const row = html("tr", { "data-user": role.user_name, "data-role": role.role });
    const cells = [role.role.replace("_", " "), role.user_name, role.label_num_waiting, role.review_num_waiting,
      role.review_num_rejected, role.review_num_accepted];
    cells.forEach((value, i) => row.append(html("td", i > 1 ? { class: "num" } : {}, String(value))));
    body.append(row);
  }
}

function renderQa(task, project) {
  // The task's actions run on the admin's pages (staff only), which offer the steps that apply now:
  // QA is the project managers' (the API answers 403062 to anybody else), staffing and restart the leaders'.
  const links = $("#qa-links");
  links.replaceChildren();
  if (!config.isStaff) return;
  const admin = `/admin/labeling/labeltask/${task.id}`;
  const manager = project.managers.some((m) => m.id === config.me.id);
  const leads = [task.label_leader, task.review_leader].some((r) => r && r.user_id === config.me.id);
  const labelLeader = task.label_leader && task.label_leader.user_id === config.me.id;
  const items = [];
  if (manager) items.push([`${admin}/qa/`, "Accept or reject this task"]);
  if (leads) items.push([`${admin}/workers/`, "Assign or replace labelers and reviewers"]);
  if (labelLeader && task.status === "rejected") items.push([`${admin}/restart/`, "Restart this task"]);
  for (const [href, text] of items) {
    links.append(html("a", { class: "button", href }, text), document.createTextNode(" "));
  }
  $("#qa").hidden = items.length === 0;
}

function renderGrid(task, images, hidden) {
  const names = Object.fromEntries(roleRows(task).map((r) => [`${r.role}_${r.user_id}`, r.user_name]));
  const grid = $("#grid");
  grid.replaceChildren();
  for (const image of images) {
    const tile = html("a", { class: "tile", href: `/label/${config.projectId}/${config.taskId}/?image=${image.id}`,
      "data-image": image.id, "aria-label": `Image ${image.idx + 1}` });
    const thumb = html("img", { src: `${config.api}/datasets/${config.datasetId}/images/${image.image_id}/thumbnail?size=256`,
      alt: `Image ${image.idx + 1}`, loading: "lazy" });
    const meta = html("div", { class: "meta" });
    meta.append(html("span", {}, `#${image.idx + 1}`));
    for (const [key, status] of Object.entries(image.role_status)) {
      const who = names[key] || key.replace("_", " ");
      meta.append(html("span", { class: `badge status-${status}`, title: `${who}: ${status}` }, `${who}: ${status}`));
    }
    tile.append(thumb, meta);
    grid.append(tile);
  }
  $("#grid-note").textContent = hidden ? `The first ${GRID_PAGE} images of each status are shown; ${hidden} more are not.` : "";
}

async function refresh(first) {
  try {
    const [task, project, { images, hidden }] = await Promise.all([
      api("GET", taskPath),
      first ? api("GET", `/label-projects/${config.projectId}`) : Promise.resolve(null),
      someImages(),
    ]);
    renderCounters(task);
    renderPeople(task);
    if (project) renderQa(task, project);
    renderGrid(task, images, hidden);
    $("#refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("#banner").hidden = true;
  } catch (error) {
    const banner = $("#banner");
    banner.hidden = false;
    banner.className = "banner error";
    banner.textContent = error instanceof ApiError ? error.describe() : String(error);
  }
  document.body.dataset.ready = "true";
}

refresh(true);
setInterval(() => {
  if (document.visibilityState === "visible") refresh(false);
}, REFRESH_MS);
