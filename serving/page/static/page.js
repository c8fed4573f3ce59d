// The LiftSense live page: camera -> skeleton -> the coach (over a WebSocket to the service), and one band's heart
// rate and rest from the gateway's server-sent events. No framework: the page must start offline and fast.
// `window.liftsense` holds what the browser test reads: state, and latencies (ms) measured here.
"use strict";

const params = new URLSearchParams(location.search);
const BASE = location.pathname.replace(/\/[^/]*$/, "/");
const WS_BASE = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + BASE;
const $ = (id) => document.getElementById(id);
const metrics = { skeleton_ms: [], cue_ms: [], hr_ms: [], pose_ms: [], frames: 0 };
const state = {
  reps: 0, cue: null, verdict: null, phase: null, hr: null, restOver: false, sets: [], cameraOn: false,
  readings: [], phases: [], decisions: [], live: null, poseMode: null, error: null, formReady: false,
};
window.liftsense = { metrics, state };

// the landmark pairs drawn as the skeleton (BlazePose indices)
const BONES = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25],
  [25, 27], [24, 26], [26, 28], [27, 31], [28, 32], [0, 11], [0, 12]];

let config = null;
let formSocket = null;
let poseBusy = false;

async function main() {
  config = await (await fetch(BASE + "config.json")).json();
  const select = $("exercise");
  for (const name of config.exercises) {
    const opt = document.createElement("option");
    opt.value = name; opt.textContent = name.replace(/_/g, " ");
    select.appendChild(opt);
  }
  select.value = params.get("exercise") || "squat";
  $("band").value = params.get("band") || "1";
  state.poseMode = params.get("pose") || config.pose;
  $("pose-mode").textContent = "pose estimation: " + (state.poseMode === "server" ? "on the server" : "in the browser");
  select.addEventListener("change", () => openForm());
  $("band").addEventListener("change", () => followBand());
  $("end-set").addEventListener("click", () => endSet("button"));
  $("finish").addEventListener("click", () => showSession());
  $("back").addEventListener("click", () => { $("session").hidden = true; $("live").hidden = false; });
  $("camera-toggle").addEventListener("click", () => state.cameraOn ? stopCamera() : startCamera());
  followBand();
  if (params.get("camera") !== "off") await startCamera();
  else cameraStatus("Camera off: heart rate and rest only");
}

// ---- form: camera, pose, skeleton, coach --------------------------------------------------------------------
function cameraStatus(text) { $("camera-status").textContent = text; }

async function startCamera() {
  const video = $("video");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    video.srcObject = stream;
    await video.play();
  } catch (err) {
    cameraStatus("No camera (" + (err && err.name || err) + "): heart rate and rest only");
    return;
  }
  state.cameraOn = true;
  $("camera-toggle").textContent = "Camera off";
  openForm();
  if (state.poseMode === "server") {
    cameraStatus("Pose estimation on the server");
    requestAnimationFrame(serverPoseLoop);
  } else {
    await startBrowserPose();
  }
}

function stopCamera() {
  const video = $("video");
  if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  state.cameraOn = false;
  $("camera-toggle").textContent = "Camera on";
  cameraStatus("Camera off: heart rate and rest only");
}

function openForm() {
  if (formSocket) formSocket.close();
  state.formReady = false;
  const path = state.poseMode === "server" ? "ws/pose" : "ws/form";
  const ws = new WebSocket(WS_BASE + path);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify({ exercise: $("exercise").value }));
  ws.onmessage = (ev) => onCoach(JSON.parse(ev.data));
  ws.onclose = () => { if (formSocket === ws) { state.formReady = false; cameraStatus("Coach disconnected: reconnecting..."); setTimeout(openForm, 1000); } };
  formSocket = ws;
  poseBusy = false;
  state.reps = 0;
  $("reps").textContent = "0";
}

function onCoach(msg) {
  if (msg.error) { poseBusy = false; state.error = msg.error; setCue("none", "Coach: " + msg.error); return; }
  if (msg.ready) { state.formReady = true; return; }
  if (msg.set_done) { state.sets.push(msg.set_done); state.reps = 0; return; }  // what follows is the next set
  if (msg.lm !== undefined) {  // server-side pose: the skeleton comes back with the coach's state
    poseBusy = false;  // one frame in flight: the next is grabbed when this one is answered
    drawSkeleton(msg.lm);
    metrics.skeleton_ms.push(performance.now() - msg.t);
    if (msg.pose_ms) metrics.pose_ms.push(msg.pose_ms);
  }
  if (msg.reps > state.reps) {
    state.reps = msg.reps;
    $("reps").textContent = String(msg.reps);
    if (msg.rep_end_t != null) metrics.cue_ms.push(performance.now() - msg.rep_end_t);
    if (msg.verdict === "correct") setCue("good", "Good rep");
    else if (msg.verdict) setCue("fault", msg.cue || msg.verdict.replace(/_/g, " "));
    else setCue("none", "No verdict: " + (msg.message || "no reading"));
    state.verdict = msg.verdict;
    if (msg.tempo) {
      const t = msg.tempo;
      $("tempo").textContent = [t.down_s, t.pause_s, t.up_s].map((x) => x == null ? "-" : x.toFixed(1)).join(" / ") + " s";
    }
  }
}

function setCue(kind, text) {
  const el = $("cue");
  el.dataset.kind = kind;
  el.textContent = text;
  state.cue = text;
}

function sendLandmarks(t, lm, world) {
  if (!formSocket || formSocket.readyState !== WebSocket.OPEN || !state.formReady) return;
  formSocket.send(JSON.stringify({ t, lm, world }));
}

async function startBrowserPose() {
  if (!config.pose_assets) { cameraStatus("The browser pose model is not installed (npm ci): use ?pose=server"); return; }
  cameraStatus("Loading the pose model...");
  await new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = BASE + "vendor/pose/pose.js";
    s.onload = resolve; s.onerror = () => reject(new Error("pose.js did not load"));
    document.head.appendChild(s);
  });
  const pose = new window.Pose({ locateFile: (file) => BASE + "vendor/pose/" + file });
  // the CPU (WASM, XNNPACK) inference by default: without a GPU, WebGL falls back to software rendering and took
  // 1.3 s a frame here (docs/live_page.md); `?inference=gpu` for a machine with one
  pose.setOptions({ modelComplexity: Number(params.get("complexity") || 1), smoothLandmarks: true,
    minDetectionConfidence: 0.5, minTrackingConfidence: 0.5, useCpuInference: params.get("inference") !== "gpu" });
  let sentAt = 0;
  pose.onResults((res) => {
    const lm = res.poseLandmarks ? res.poseLandmarks.map((p) => [p.x, p.y, p.z, p.visibility]) : null;
    const world = res.poseWorldLandmarks ? res.poseWorldLandmarks.map((p) => [p.x, p.y, p.z]) : null;
    drawSkeleton(lm);
    metrics.skeleton_ms.push(performance.now() - sentAt);
    metrics.frames += 1;
    sendLandmarks(sentAt, lm, world);
  });
  await pose.initialize();
  cameraStatus("");
  const video = $("video");
  const loop = async () => {
    if (state.cameraOn && video.readyState >= 2 && !poseBusy) {
      poseBusy = true;
      sentAt = performance.now();
      try { await pose.send({ image: video }); } catch (err) { cameraStatus("Pose estimation failed: " + err); }
      poseBusy = false;
    }
    if (state.cameraOn) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

const grab = document.createElement("canvas");
function serverPoseLoop() {
  const video = $("video");
  const ready = formSocket && formSocket.readyState === WebSocket.OPEN && state.formReady;
  if (state.cameraOn && ready && video.readyState >= 2 && !poseBusy) {
    poseBusy = true;
    const t = performance.now();
    grab.width = 640; grab.height = Math.round(640 * video.videoHeight / video.videoWidth) || 480;
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    grab.toBlob(async (blob) => {
      const head = new Float64Array([t]);
      const body = new Uint8Array(await blob.arrayBuffer());
      const frame = new Uint8Array(8 + body.length);
      frame.set(new Uint8Array(head.buffer), 0); frame.set(body, 8);
      formSocket.send(frame.buffer);
      metrics.frames += 1;
    }, "image/jpeg", 0.75);
  }
  if (state.cameraOn) requestAnimationFrame(serverPoseLoop);
}

function drawSkeleton(lm) {
  const canvas = $("skeleton");
  const video = $("video");
  canvas.width = video.videoWidth || 640; canvas.height = video.videoHeight || 480;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!lm) { cameraStatus("No person in view"); return; }
  if ($("camera-status").textContent === "No person in view") cameraStatus("");
  ctx.lineWidth = 5; ctx.strokeStyle = "#4aa3ff"; ctx.fillStyle = "#fff";
  for (const [a, b] of BONES) {
    if (lm[a][3] < 0.3 || lm[b][3] < 0.3) continue;
    ctx.beginPath();
    ctx.moveTo(lm[a][0] * canvas.width, lm[a][1] * canvas.height);
    ctx.lineTo(lm[b][0] * canvas.width, lm[b][1] * canvas.height);
    ctx.stroke();
  }
  for (const p of lm) if (p[3] >= 0.3) { ctx.beginPath(); ctx.arc(p[0] * canvas.width, p[1] * canvas.height, 4, 0, 7); ctx.fill(); }
}

function endSet(why) {
  if (formSocket && formSocket.readyState === WebSocket.OPEN && state.formReady) {
    formSocket.send(JSON.stringify({ end_set: true, why }));  // the count stays on screen until the next rep
  }
}

// ---- heart rate and rest: the gateway's events for one band -------------------------------------------------
let events = null;
function followBand() {
  if (events) events.close();
  Object.assign(state, { readings: [], phases: [], decisions: [], live: null, hr: null, restOver: false, phase: null });
  const band = $("band").value;
  events = new EventSource(config.gateway.replace(/\/$/, "") + "/events?band=" + encodeURIComponent(band));
  events.onmessage = (ev) => onBand(JSON.parse(ev.data));
  events.onerror = () => { $("sqi").textContent = "Gateway not reachable at " + config.gateway + ": retrying"; };
}

function onBand(ev) {
  state.readings.push(...ev.readings);
  state.phases.push(...ev.phases);
  state.decisions.push(...ev.decisions);
  if (state.readings.length > 2000) state.readings.splice(0, state.readings.length - 2000);
  const before = state.phase;
  state.live = ev.live;
  state.phase = ev.live.phase || null;
  if (before === "set" && state.phase === "rest") endSet("band");  // the band saw the set end
  const last = state.readings[state.readings.length - 1];
  if (ev.readings.length && last) {
    if (last.bpm == null) {
      state.hr = null;
      $("hr").textContent = "-";
      $("sqi").textContent = "No reading: " + (last.reason || "signal too poor");
    } else {
      state.hr = last.bpm;
      $("hr").textContent = String(Math.round(last.bpm));
      const q = last.sqi;
      $("sqi").textContent = "Signal " + (q >= 0.5 ? "good" : q >= 0.3 ? "fair" : "poor: reading not used") + " (quality " + q.toFixed(2) + ")";
    }
    if (ev.newest_received_s) metrics.hr_ms.push(Date.now() - ev.newest_received_s * 1000);
  }
  if (!ev.live.connected && !ev.readings.length) $("sqi").textContent = "Band " + ev.band + " is not connected";
  $("phase").textContent = state.phase === "set" ? "SET" : state.phase === "rest" ? "REST" : "-";
  drawRest(ev.live);
  drawChart();
}

function clock(s) {
  const v = Math.max(0, Math.round(s));
  return Math.floor(v / 60) + ":" + String(v % 60).padStart(2, "0");
}

function drawRest(live) {
  const rest = live.rest;
  const resting = state.phase === "rest" && rest;
  const over = resting && state.decisions.some((d) => d.kind === "rest_over" && d.t_s >= rest.start_s);
  state.restOver = Boolean(over);
  $("rest").hidden = !resting || over;
  $("go").hidden = !over;
  if (over) {
    const d = state.decisions.filter((x) => x.kind === "rest_over").pop();
    $("go").textContent = "Rest over: go! " + d.reason;
  } else if (resting && rest.forecast) {
    const left = rest.start_s + rest.forecast.rest_s - live.stream_s;
    $("countdown").textContent = left > 0 ? clock(left) : "any moment";
    $("target").textContent = Math.round(rest.forecast.target_hr) + " BPM";
  } else if (resting) {
    $("countdown").textContent = "-";
    $("target").textContent = "no forecast";
  }
  $("forecast-by").textContent = resting && rest.forecast ? "Forecast: " + rest.forecast.produced_by : "";
}

function svgEl(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text != null) el.textContent = text;
  return el;
}

// a line chart of readings (t_s, bpm), with optional shaded spans, forecast band and a target line
function plot(svg, w, h, readings, opts) {
  svg.replaceChildren();
  const pts = readings.filter((r) => r.bpm != null);
  const f = opts.forecast;
  const t0 = opts.t0 != null ? opts.t0 : (pts.length ? pts[0].t_s : 0);
  let t1 = Math.max(pts.length ? pts[pts.length - 1].t_s : 1, f ? f.t_s[f.t_s.length - 1] : 0, t0 + 30);
  let ys = pts.map((r) => r.bpm).concat(f ? f.low.concat(f.high).filter((x) => x != null) : []);
  if (opts.target) ys.push(opts.target);
  if (!ys.length) ys = [60, 120];
  const lo = Math.floor(Math.min(...ys) / 10) * 10 - 5, hi = Math.ceil(Math.max(...ys) / 10) * 10 + 5;
  const L = 40, B = h - 22;
  const X = (t) => L + (w - L - 8) * (t - t0) / Math.max(t1 - t0, 1);
  const Y = (b) => B - (B - 8) * (b - lo) / (hi - lo);
  for (const [a, b] of opts.spans || []) {
    svg.appendChild(svgEl("rect", { x: X(Math.max(a, t0)), y: 8, width: Math.max(X(Math.min(b, t1)) - X(Math.max(a, t0)), 0), height: B - 8, fill: "#2a2a3a" }));
  }
  for (let b = lo + 5; b < hi; b += 20) {
    svg.appendChild(svgEl("text", { x: 4, y: Y(b) + 4 }, String(b)));
    svg.appendChild(svgEl("line", { x1: L, x2: w - 8, y1: Y(b), y2: Y(b), stroke: "#333" }));
  }
  svg.appendChild(svgEl("text", { x: w - 120, y: h - 4 }, "stream time (s)"));
  if (f) {
    const up = f.t_s.map((t, i) => [t, f.high[i]]).filter((p) => p[1] != null);
    const down = f.t_s.map((t, i) => [t, f.low[i]]).filter((p) => p[1] != null).reverse();
    svg.appendChild(svgEl("polygon", { points: up.concat(down).map(([t, b]) => X(t) + "," + Y(b)).join(" "), fill: "rgba(74,163,255,0.25)" }));
    svg.appendChild(svgEl("polyline", { points: f.t_s.map((t, i) => f.hr[i] == null ? "" : X(t) + "," + Y(f.hr[i])).join(" "), fill: "none", stroke: "#4aa3ff", "stroke-dasharray": "6 4", "stroke-width": 2 }));
  }
  if (opts.target) {
    svg.appendChild(svgEl("line", { x1: L, x2: w - 8, y1: Y(opts.target), y2: Y(opts.target), stroke: "#3ddc84", "stroke-dasharray": "2 4", "stroke-width": 2 }));
    svg.appendChild(svgEl("text", { x: L + 4, y: Y(opts.target) - 4 }, "target " + Math.round(opts.target)));
  }
  svg.appendChild(svgEl("polyline", { points: pts.filter((r) => r.t_s >= t0).map((r) => X(r.t_s) + "," + Y(r.bpm)).join(" "), fill: "none", stroke: "#f4f4f4", "stroke-width": 2.5 }));
}

function setSpans(phases, end) {
  const spans = [];
  phases.forEach((p, i) => { if (p.state === "set") spans.push([p.t_s, i + 1 < phases.length ? phases[i + 1].t_s : end]); });
  return spans;
}

function drawChart() {
  const live = state.live || {};
  const now = live.stream_s || 0;
  const rest = state.phase === "rest" && live.rest && !state.restOver ? live.rest : null;
  plot($("hr-chart"), 600, 260, state.readings, {
    t0: Math.max(0, now - 300), forecast: rest && rest.forecast, target: rest && rest.forecast && rest.forecast.target_hr,
    spans: setSpans(state.phases, now),
  });
}

// ---- after the workout: per set, reps, faults, rest taken against predicted, and the HR curve ---------------
async function showSession() {
  $("live").hidden = true;
  $("session").hidden = false;
  let band = { readings: [], phases: [], rests: [] };
  try {
    const r = await fetch(config.gateway.replace(/\/$/, "") + "/session?band=" + encodeURIComponent($("band").value));
    if (r.ok) band = await r.json();
  } catch (err) { /* no gateway: the form sets alone */ }
  const tbody = $("sets").querySelector("tbody");
  tbody.replaceChildren();
  const n = Math.max(state.sets.length, band.rests.length);
  for (let i = 0; i < n; i++) {
    const s = state.sets[i], rest = band.rests[i];
    const faults = s ? Object.entries(s.faults).map(([k, v]) => k.replace(/_/g, " ") + " x" + v).join(", ") || "none" : "-";
    const row = [i + 1, s ? s.reps : "-", faults, rest ? rest.taken_s.toFixed(0) + " s" : "-",
      rest && rest.predicted_s != null ? rest.predicted_s.toFixed(0) + " s" : "-", rest ? rest.ended_by : "-"];
    const tr = document.createElement("tr");
    for (const cell of row) { const td = document.createElement("td"); td.textContent = cell; tr.appendChild(td); }
    tbody.appendChild(tr);
  }
  restBars($("rest-chart"), 900, 200, band.rests);
  const end = band.readings.length ? band.readings[band.readings.length - 1].t_s : 0;
  plot($("session-chart"), 900, 300, band.readings, { t0: 0, spans: setSpans(band.phases, end) });
}

// per rest, two labelled bars: taken (solid) and predicted (hatched by a dashed outline), so neither needs colour
function restBars(svg, w, h, rests) {
  svg.replaceChildren();
  if (!rests.length) { svg.appendChild(svgEl("text", { x: 10, y: 30 }, "No rests yet")); return; }
  const top = Math.max(...rests.map((r) => Math.max(r.taken_s || 0, r.predicted_s || 0)), 60);
  const slot = (w - 20) / rests.length, bar = Math.min(slot / 3, 60), B = h - 24;
  const H = (s) => (B - 20) * s / top;
  rests.forEach((r, i) => {
    const x = 10 + i * slot + slot / 2 - bar;
    svg.appendChild(svgEl("rect", { x, y: B - H(r.taken_s), width: bar - 4, height: H(r.taken_s), fill: "#f4f4f4" }));
    svg.appendChild(svgEl("text", { x, y: B - H(r.taken_s) - 4 }, Math.round(r.taken_s) + " s"));
    if (r.predicted_s != null) {
      svg.appendChild(svgEl("rect", { x: x + bar, y: B - H(r.predicted_s), width: bar - 4, height: H(r.predicted_s),
        fill: "none", stroke: "#4aa3ff", "stroke-dasharray": "5 3", "stroke-width": 2 }));
      svg.appendChild(svgEl("text", { x: x + bar, y: B - H(r.predicted_s) - 4 }, Math.round(r.predicted_s) + " s"));
    }
    svg.appendChild(svgEl("text", { x, y: h - 6 }, "rest " + (i + 1) + ": taken | predicted"));
  });
}

main().catch((err) => { state.error = String(err); cameraStatus("The page failed to start: " + err); });
