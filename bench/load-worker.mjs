// Runs one autocannon load test in its own process and prints the summary as JSON.
import autocannon from "autocannon";

const opts = JSON.parse(process.argv[2]);
const result = await autocannon({
  url: opts.url,
  connections: opts.connections ?? 32,
  duration: opts.durationSeconds ?? 5,
  method: opts.method ?? "GET",
  headers: opts.headers,
  body: opts.body,
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }),
);
