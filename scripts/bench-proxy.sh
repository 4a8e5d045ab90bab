#!/usr/bin/env bash
# The egress proxy against its peers in the same run: direct connections
# and mitmdump (Debian's mitmproxy). Prints each benchmark's median over
# COUNT runs and the ratios issue 3 sets targets for.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
command -v mitmdump >/dev/null || { echo "bench: mitmdump is needed (apt-get install mitmproxy)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" -count "$count" ./proxy ./proxy/credential | tee "$out"
python3 - "$out" <<'PY'
import re, statistics, sys
vals = {}
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(\S+?)-\d+\s+\d+\s+(.*)", line)
    if not m:
        continue
    fields = m.group(2).split()
    for v, unit in zip(fields[::2], fields[1::2]):
        vals.setdefault((m.group(1), unit), []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
g = lambda name, unit: med.get((name, unit), float("nan"))
print()
print(f"MITM req/s (4 conns): direct {g('MITMThroughput/direct','req/s'):.0f}, runjail {g('MITMThroughput/runjail','req/s'):.0f}, "
      f"mitmdump {g('MITMThroughput/mitmdump','req/s'):.0f}: runjail/mitmdump = {g('MITMThroughput/runjail','req/s')/g('MITMThroughput/mitmdump','req/s'):.1f}x (target >= 10x)")
print(f"MITM p50 added over direct: runjail {g('MITMLatency/runjail','p50-µs')-g('MITMLatency/direct','p50-µs'):.0f} µs (target <= 200), "
      f"mitmdump {g('MITMLatency/mitmdump','p50-µs')-g('MITMLatency/direct','p50-µs'):.0f} µs")
print(f"SSE first event p50 added: {g('SSEFirstEvent/runjail','p50-µs')-g('SSEFirstEvent/direct','p50-µs'):.0f} µs (target <= 5000)")
print(f"Messages time to first token added (API key injected): {g('MessagesFirstToken/runjail','p50-µs')-g('MessagesFirstToken/direct','p50-µs'):.0f} µs (target <= 5000)")
print(f"CONNECT tunnel throughput: {g('TunnelThroughput/runjail','MB/s'):.0f} MB/s vs direct {g('TunnelThroughput/direct','MB/s'):.0f}: "
      f"{g('TunnelThroughput/runjail','MB/s')/g('TunnelThroughput/direct','MB/s'):.2f}x (target >= 0.8); "
      f"mitmdump passing through: {g('TunnelThroughput/mitmdump','MB/s')/g('TunnelThroughput/direct','MB/s'):.2f}x")
print(f"SigV4 re-signing of a 16 KiB Bedrock request: {g('SigV4','ns/op')/1000:.0f} µs")
print(f"1000 SSE streams: proxy peak RSS {g('SSEStreams','proxy-peak-RSS-MB'):.0f} MB (target <= 150)")
PY
