// Implementation of tools/ternd/status_page.h.
#include "tools/ternd/status_page.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "core/json_writer.h"
#include "tools/ternd/queue_filter.h"
#include "tools/ternd/queue_report.h"

namespace tern::ternd {
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
td.n{text-align:right} .err{color:#a00} #updated{color:#777;font-size:.85em}
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
<table id="destinations"><thead><tr><th>Destination</th><th>Shard</th><th>Pending</th>
<th>Connections</th><th>Delivered</th><th>Deferred</th><th>Bounced</th><th>Last error</th></tr>
</thead><tbody></tbody></table>
<h2>Recent deferrals and bounces</h2>
<table id="recent"><thead><tr><th>Time</th><th>Queue ID</th><th>Recipient</th><th>Result</th>
<th>Reply</th><th>From</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
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
function draw(canvas, series) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 34;
  ctx.clearRect(0, 0, w, h);
  let max = 0, points = 0;
  for (const s of series) { for (const v of s.values) max = Math.max(max, v); points = Math.max(points, s.values.length); }
  const top = max > 0 ? max * 1.1 : 1;
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  for (let g = 0; g <= 4; g++) {
    const y = h - pad / 2 - (h - pad) * g / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 4, y); ctx.stroke();
    ctx.fillText((top * g / 4).toFixed(top < 10 ? 1 : 0), 2, y + 4);
  }
  const grid = painted(ctx, w, h);
  for (const s of series) {
    if (s.values.length < 2) continue;
    ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
    s.values.forEach((v, i) => {
      const x = pad + (w - pad - 4) * i / (s.values.length - 1);
      const y = h - pad / 2 - (h - pad) * v / top;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  // What was drawn, for people reading the DOM and for the headless test: the pixels the
  // data lines painted beyond the grid and its labels.
  canvas.dataset.points = points; canvas.dataset.max = max;
  canvas.dataset.inked = painted(ctx, w, h) - grid;
}
function cell(row, text, cls) {
  const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td;
}
function render(s) {
  const samples = s.samples;
  draw(document.getElementById("throughput"), [
    {values: rates(samples, "accepted"), color: "#1f77b4"},
    {values: rates(samples, "delivered"), color: "#2ca02c"},
    {values: rates(samples, "deferred"), color: "#d62728"},
    {values: rates(samples, "bounced"), color: "#9467bd"}]);
  draw(document.getElementById("queue"), [
    {values: samples.map(x => x.queue), color: "#ff7f0e"},
    {values: samples.map(x => x.smtp), color: "#17becf"},
    {values: samples.map(x => x.out), color: "#8c564b"}]);
  const dest = document.querySelector("#destinations tbody");
  dest.replaceChildren();
  for (const d of s.destinations) {
    const r = dest.insertRow();
    cell(r, d.destination); cell(r, d.shard, "n"); cell(r, d.pending_jobs, "n");
    cell(r, d.connections + d.connecting, "n"); cell(r, d.delivered, "n"); cell(r, d.deferred, "n");
    cell(r, d.bounced, "n"); cell(r, d.last_error, d.last_error ? "err" : "");
  }
  const recent = document.querySelector("#recent tbody");
  recent.replaceChildren();
  for (const f of s.recent) {
    const r = recent.insertRow();
    cell(r, f.time); cell(r, f.id); cell(r, f.recipient); cell(r, f.result, "err");
    cell(r, f.reply); cell(r, f.destination);
  }
  const u = document.getElementById("updated");
  u.textContent = "updated " + s.now + ", " + samples.length + " samples, queue " +
      (samples.length ? samples[samples.length - 1].queue : 0) + " messages";
  u.dataset.updated = s.now;
}
async function refresh() {
  try {
    const answer = await fetch("/status.json", {cache: "no-store"});
    render(await answer.json());
  } catch (e) {
    document.getElementById("updated").textContent = "ternd did not answer: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
)HTML";

}  // namespace

absl::string_view StatusPageHtml() { return kPage; }

std::string StatusJson(const ThroughputHistory& history, const std::vector<ShardStatus>& shards,
                       absl::Time now) {
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

  struct Destination {
    int shard;
    const delivery::DeliveryAgent::DestinationStats* stats;
  };
  std::vector<Destination> destinations;
  std::vector<const delivery::DeliveryAgent::RecentFailure*> recent;
  for (const ShardStatus& shard : shards) {
    for (const auto& d : shard.destinations) destinations.push_back({shard.shard, &d});
    for (const auto& f : shard.recent) recent.push_back(&f);
  }
  auto busy = [](const Destination& d) {
    return d.stats->pending_jobs + d.stats->connections + d.stats->connecting + d.stats->deferred +
           d.stats->delivered + d.stats->bounced;
  };
  std::sort(destinations.begin(), destinations.end(),
            [&](const Destination& a, const Destination& b) { return busy(a) > busy(b); });
  if (destinations.size() > kDestinationsShown) destinations.resize(kDestinationsShown);
  std::sort(recent.begin(), recent.end(),
            [](const auto* a, const auto* b) { return a->at > b->at; });
  if (recent.size() > kRecentShown) recent.resize(kRecentShown);

  json.Key("destinations");
  json.BeginArray();
  for (const Destination& d : destinations) AppendDestinationJson(d.shard, *d.stats, now, &json);
  json.EndArray();
  json.Key("recent");
  json.BeginArray();
  for (const auto* f : recent) {
    json.BeginObject();
    json.Key("time");
    json.String(FormatUtcSeconds(f->at));
    json.Key("id");
    json.String(FormatQueueId(f->queue_id));
    json.Key("recipient");
    json.String(f->recipient);
    json.Key("result");
    json.String(f->result);
    json.Key("reply");
    json.String(f->reply);
    json.Key("destination");
    json.String(f->destination);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  out.push_back('\n');
  return out;
}

}  // namespace tern::ternd
