-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench.py: optionally turns every request into a POST with a fixed body, and
-- prints one machine-readable result line when the run ends.
--
-- WB_POST_BYTES (environment): when > 0, each request is a POST with a body of that many bytes.
-- The body is built once per wrk thread at load time, so it costs nothing per request.

local post_bytes = tonumber(os.getenv("WB_POST_BYTES") or "0") or 0

if post_bytes > 0 then
   wrk.method = "POST"
   wrk.body = string.rep("0123456789abcdef", math.floor(post_bytes / 16)) ..
      string.rep("x", post_bytes % 16)
   wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WB_RESULT {\"requests\": %d, \"duration_us\": %d, \"bytes\": %d, " ..
      "\"err_connect\": %d, \"err_read\": %d, \"err_write\": %d, \"err_status\": %d, " ..
      "\"err_timeout\": %d, \"lat_mean_us\": %.1f, \"lat_max_us\": %d, " ..
      "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d}\n",
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
