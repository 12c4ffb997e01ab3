// Implementation of tools/ternd/status_page.h.
#include "tools/ternd/status_page.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "core/json_writer.h"
#include "queue/queue_filter.h"
#include "tools/ternd/queue_report.h"

namespace tern::tools::ternd {

using queue::FormatQueueId;

namespace {

constexpr size_t kDestinationsShown = 20;
constexpr size_t kRecentShown = 30;

constexpr absl::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tern status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .3em} h2{font-size:1.05em;margin:1.2em 0 .4em}
.charts{display:flex;flex-wrap:wrap;gap:1.5em} figure{margin:0}
figcaption{font-size:.9em;color:#555} canvas{background:#fff;border:1px solid #ddd}
table{border-collapse:collapse;background:#fff;font-size:.9em}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left} th{background:#eee}
td.n{text-align:right} .err{color:#a00} tr.shard td{color:#777;font-size:.9em} #updated{color:#777;font-size:.85em}
.key span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em}
</style></head><body>
<h1>Tern relay status</h1><div id="updated">loading&hellip;</div>
<div class="charts">
<figure><canvas id="throughput" width="560" height="200"></canvas>
<figcaption class="key">Messages per second:<span style="background:#1f77b4"></span>accepted
<span style="background:#2ca02c"></span>delivered<span style="background:#d62728"></span>deferred
<span style="background:#9467bd"></span>bounced</figcaption></figure>
<figure><canvas id="queue" width="560" height="200"></canvas>
<figcaption class="key">Queue:<span style="background:#ff7f0e"></span>messages
<span style="background:#17becf"></span>SMTP connections
<span style="background:#8c564b"></span>outbound connections</figcaption></figure>
</div>
<h2>Top destinations</h2>
<label><input type="checkbox" id="per_shard"> per shard</label>
<table id="destinations"><thead><tr><th>Destination</th><th>Shards</th><th>Pending</th>
<th>Connections</th><th>Delivered</th><th>Deferred</th><th>Bounced</th><th>Last error</th></tr>
</thead><tbody></tbody></table>
<h2>Recent deferrals and bounces</h2>
<table id="recent"><thead><tr><th>Last time</th><th>Count</th><th>Destination</th><th>Result</th>
<th>Reply</th><th>Last recipient</th><th>Queue ID</th></tr></thead><tbody></tbody></table>
<h2>Suspensions and overrides</h2>
<table id="overrides"><thead><tr><th>Scope</th><th>Source</th><th>Kind</th><th>Until</th>
<th>Left</th><th>Reason</th><th>Cause</th></tr></thead><tbody></tbody></table>
<h2>Delayed sites</h2>
<table id="delayed"><thead><tr><th>Site</th><th>Delayed until</th><th>Failures</th>
<th>Last failure</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
// Each value of rates() belongs to the later of the two samples it spans.
function rates(samples, key) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i].t - samples[i - 1].t;
    const dv = samples[i][key] - samples[i - 1][key];
    out.push(dt > 0 && dv >= 0 ? dv / dt : 0);
  }
  return out;
}
function painted(ctx, w, h) {
  const pixels = ctx.getImageData(0, 0, w, h).data;
  let n = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) n++;
  return n;
}
function two(n) { return (n < 10 ? "0" : "") + n; }
// A tick label in the browser's local time: HH:MM, with seconds when ticks are closer.
function clock(t, step) {
  const d = new Date(t * 1000);
  return two(d.getHours()) + ":" + two(d.getMinutes()) + (step < 60 ? ":" + two(d.getSeconds()) : "");
}
const STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
// times: the unix seconds of each plotted value (the same for every series).
function draw(canvas, series, times) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const left = 34, right = 4, top_margin = 8, bottom = 22;
  ctx.clearRect(0, 0, w, h);
  let max = 0, points = 0;
  for (const s of series) { for (const v of s.values) max = Math.max(max, v); points = Math.max(points, s.values.length); }
  const top = max > 0 ? max * 1.1 : 1;
  const y = v => h - bottom - (h - bottom - top_margin) * v / top;
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  for (let g = 0; g <= 4; g++) {
    const gy = y(top * g / 4);
    ctx.beginPath(); ctx.moveTo(left, gy); ctx.lineTo(w - right, gy); ctx.stroke();
    ctx.fillText((top * g / 4).toFixed(top < 10 ? 1 : 0), 2, gy + 4);
  }
  // The time axis: a labelled tick at every whole step (minute, or finer for a short history).
  const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 0;
  const x = t => left + (w - left - right) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0);
  const labels = [];
  if (t1 > t0) {
    const step = STEPS.find(s => (t1 - t0) / s <= 6) || 3600;
    ctx.textAlign = "center";
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const tx = x(t), label = clock(t, step);
      ctx.beginPath(); ctx.moveTo(tx, h - bottom); ctx.lineTo(tx, h - bottom + 4); ctx.stroke();
      ctx.fillText(label, tx, h - 6);
      labels.push(label);
    }
    ctx.textAlign = "start";
  }
  const grid = painted(ctx, w, h);
  for (const s of series) {
    if (s.values.length < 2) continue;
    const offset = times.length - s.values.length;
    ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
    s.values.forEach((v, i) => {
      const px = x(times[offset + i]), py = y(v);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
  // What was drawn, for people reading the DOM and for the headless test: the pixels the
  // data lines painted beyond the grid and its labels, and the time axis labels.
  canvas.dataset.points = points; canvas.dataset.max = max;
  canvas.dataset.inked = painted(ctx, w, h) - grid;
  canvas.dataset.ticks = labels.join(" ");
}
function cell(row, text, cls) {
  const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td;
}
function destinationRow(body, d, name, shards) {
  const r = body.insertRow();
  cell(r, name); cell(r, shards, "n"); cell(r, d.pending_jobs, "n");
  cell(r, d.connections + d.connecting, "n"); cell(r, d.delivered, "n"); cell(r, d.deferred, "n");
  cell(r, d.bounced, "n"); cell(r, d.last_error, d.last_error ? "err" : "");
  return r;
}
function render(s) {
  const samples = s.samples, times = samples.map(x => x.t);
  draw(document.getElementById("throughput"), [
    {values: rates(samples, "accepted"), color: "#1f77b4"},
    {values: rates(samples, "delivered"), color: "#2ca02c"},
    {values: rates(samples, "deferred"), color: "#d62728"},
    {values: rates(samples, "bounced"), color: "#9467bd"}], times);
  draw(document.getElementById("queue"), [
    {values: samples.map(x => x.queue), color: "#ff7f0e"},
    {values: samples.map(x => x.smtp), color: "#17becf"},
    {values: samples.map(x => x.out), color: "#8c564b"}], times);
  const dest = document.querySelector("#destinations tbody");
  dest.replaceChildren();
  for (const d of s.destinations) {
    destinationRow(dest, d, d.destination, d.shards);
    for (const p of d.per_shard || []) {
      destinationRow(dest, p, "\u00a0\u00a0shard " + p.shard, "").className = "shard";
    }
  }
  const recent = document.querySelector("#recent tbody");
  recent.replaceChildren();
  for (const f of s.failures) {
    const r = recent.insertRow();
    cell(r, f.last_time); cell(r, f.count, "n"); cell(r, f.destination);
    cell(r, f.result, "err"); cell(r, f.reply); cell(r, f.recipient); cell(r, f.id);
  }
  const overrides = document.querySelector("#overrides tbody");
  overrides.replaceChildren();
  for (const o of s.overrides || []) {
    const r = overrides.insertRow();
    cell(r, o.scope); cell(r, o.source || "every"); cell(r, o.kind, o.kind === "suspend" ? "err" : "");
    cell(r, o.until); cell(r, o.left, "n"); cell(r, o.reason); cell(r, o.cause);
  }
  const delayed = document.querySelector("#delayed tbody");
  delayed.replaceChildren();
  for (const d of s.delayed_sites || []) {
    const r = delayed.insertRow();
    cell(r, d.site); cell(r, d.until); cell(r, d.failures, "n"); cell(r, d.last_failure, "err");
  }
  const u = document.getElementById("updated");
  u.textContent = "updated " + s.now + ", " + samples.length + " samples, queue " +
      (samples.length ? samples[samples.length - 1].queue : 0) + " messages";
  u.dataset.updated = s.now;
}
async function refresh() {
  try {
    const perShard = document.getElementById("per_shard").checked ||
        new URLSearchParams(location.search).get("shards") === "1";
    const answer = await fetch(perShard ? "/status.json?shards=1" : "/status.json",
                               {cache: "no-store"});
    render(await answer.json());
  } catch (e) {
    document.getElementById("updated").textContent = "ternd did not answer: " + e;
  }
}
document.getElementById("per_shard").checked = new URLSearchParams(location.search).get("shards") === "1";
document.getElementById("per_shard").addEventListener("change", refresh);
refresh();
setInterval(refresh, 2000);
</script></body></html>
)HTML";

// One destination summed over the shards; with `per_shard`, each shard's own row too.
void AppendDestinationTotalJson(const DestinationTotal& d, absl::Time now, bool per_shard,
                                core::JsonWriter* json) {
  json->BeginObject();
  json->Key("destination");
  json->String(d.sum.name);
  json->Key("shards");
  json->Number(static_cast<uint64_t>(d.shards.size()));
  for (const auto& [key, value] :
       {std::pair<const char*, uint64_t>{"pending_jobs", d.sum.pending_jobs},
        {"connections", d.sum.connections},
        {"connecting", d.sum.connecting},
        {"delivered", d.sum.delivered},
        {"deferred", d.sum.deferred},
        {"bounced", d.sum.bounced},
        {"results_last_minute", d.sum.results_last_minute}}) {
    json->Key(key);
    json->Number(value);
  }
  json->Key("last_error");
  json->String(d.sum.last_error);
  json->Key("last_error_seconds_ago");
  json->Number(d.sum.last_error.empty() ? int64_t{-1}
                                        : absl::ToInt64Seconds(now - d.sum.last_error_at));
  if (per_shard) {
    json->Key("per_shard");
    json->BeginArray();
    for (const auto& [shard, stats] : d.shards) AppendDestinationJson(shard, *stats, now, json);
    json->EndArray();
  }
  json->EndObject();
}

}  // namespace

absl::string_view StatusPageHtml() { return kPage; }

std::string StatusJson(const ThroughputHistory& history, const std::vector<ShardStatus>& shards,
                       absl::Time now, bool per_shard, const ShapingReport* shaping) {
  std::string out;
  core::JsonWriter json(&out);
  json.BeginObject();
  json.Key("now");
  json.String(FormatUtcSeconds(now));
  json.Key("samples");
  json.BeginArray();
  for (const ThroughputSample& s : history.samples()) {
    json.BeginObject();
    json.Key("t");
    json.Raw(absl::StrFormat("%.3f", absl::ToDoubleSeconds(s.time - absl::UnixEpoch())));
    for (const auto& [key, value] : {std::pair<const char*, uint64_t>{"accepted", s.accepted},
                                     {"delivered", s.delivered},
                                     {"deferred", s.deferred},
                                     {"bounced", s.bounced},
                                     {"queue", s.queue_messages},
                                     {"queue_bytes", s.queue_bytes},
                                     {"smtp", s.smtp_connections},
                                     {"out", s.outbound_connections}}) {
      json.Key(key);
      json.Number(value);
    }
    json.EndObject();
  }
  json.EndArray();

  json.Key("destinations");
  json.BeginArray();
  for (const DestinationTotal& d : SumDestinations(shards, kDestinationsShown)) {
    AppendDestinationTotalJson(d, now, per_shard, &json);
  }
  json.EndArray();
  json.Key("failures");
  json.BeginArray();
  for (const FailureGroup& g : GroupFailures(shards, kRecentShown)) {
    json.BeginObject();
    json.Key("destination");
    json.String(g.destination);
    json.Key("pattern");
    json.String(g.pattern);
    json.Key("count");
    json.Number(g.count);
    json.Key("last_time");
    json.String(FormatUtcSeconds(g.last_at));
    json.Key("result");
    json.String(g.last_result);
    json.Key("reply");
    json.String(g.last_reply);
    json.Key("recipient");
    json.String(g.last_recipient);
    json.Key("id");
    json.String(FormatQueueId(g.last_queue_id));
    json.EndObject();
  }
  json.EndArray();
  json.Key("overrides");
  json.BeginArray();
  if (shaping != nullptr) {
    size_t shown = 0;
    for (const queue::ShapingOverride& o : shaping->overrides) {
      if (shown++ == kShapingRowsShown) break;
      json.BeginObject();
      for (const auto& [key, value] :
           {std::pair<const char*, std::string>{"scope", o.scope},
            {"source", o.source},
            {"kind", std::string(queue::KindName(o.kind))},
            {"until", FormatUtcSeconds(o.until)},
            {"left", o.until > now ? ShortDuration(o.until - now) : "0s"},
            {"reason", o.reason},
            {"cause", o.cause}}) {
        json.Key(key);
        json.String(value);
      }
      json.EndObject();
    }
  }
  json.EndArray();
  json.Key("delayed_sites");
  json.BeginArray();
  if (shaping != nullptr) {
    size_t shown = 0;
    for (const queue::SiteHealth::Snapshot& site : shaping->troubled_sites) {
      if (!site.delayed || site.delayed_until <= now) continue;
      if (shown++ == kShapingRowsShown) break;
      json.BeginObject();
      json.Key("site");
      json.String(site.key);
      json.Key("until");
      json.String(FormatUtcSeconds(site.delayed_until));
      json.Key("failures");
      json.Number(uint64_t{site.consecutive_failures});
      json.Key("last_failure");
      json.String(site.last_failure);
      json.EndObject();
    }
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::tools::ternd
