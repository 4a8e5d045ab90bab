#!/usr/bin/env bash
# Start-to-exec of /bin/true, network mode none: runjail against bubblewrap
# (Debian's bwrap) in the same run. Prints the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-200}
command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bench: bwrap is needed (apt-get install bubblewrap)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/bench.toml" <<'TOML'
version = 1
extends = "default"
[network]
mode = "none"
TOML
cd "$work"
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/result.json" \
	-n runjail "$OLDPWD/bin/runjail -p $work/bench.toml -- /bin/true" \
	-n bwrap "bwrap --ro-bind / / --tmpfs /home --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true"
python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rj, bw = r["runjail"]["median"], r["bwrap"]["median"]
print(f"median start-to-exit of /bin/true: runjail {rj*1000:.2f} ms, bwrap {bw*1000:.2f} ms, runjail/bwrap = {rj/bw:.2f}")
PY
