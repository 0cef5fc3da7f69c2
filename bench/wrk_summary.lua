-- Appended to every wrk run's script: at the end, one line that bench/load.py
-- parses, so no number is scraped from wrk's human-readable report (whose
-- units change with magnitude: "950.00us", "1.20ms", "12.3k").
-- Latencies are in microseconds; errors.status counts responses >= 400.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"mean_us": %.1f, "max_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
