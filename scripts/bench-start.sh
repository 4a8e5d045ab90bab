#!/usr/bin/env bash
# Start-to-exit of /bin/true, network mode none: runjail against bubblewrap
# (Debian's bwrap) in the same run. Rounds alternate the two so that load
# drifting on the machine hits both; prints each round's medians and the
# median of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
runs=${RUNS:-60}
command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bench: bwrap is needed (apt-get install bubblewrap)" >&2; exit 1; }
runjail=$PWD/bin/runjail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# For scale, bwrap also builds the mounts of runjail's default profile
# (hidden /home, /mnt, /media, /run/user; private /var/tmp, /dev/shm; the
# persistent home; the project), less the PATH binds.
home=${XDG_CACHE_HOME:-$HOME/.cache}/runjail/default/home
mkdir -p "$home"
same="bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /home --tmpfs /mnt --tmpfs /media"
[ -d /run/user ] && same="$same --tmpfs /run/user"
same="$same --tmpfs /var/tmp --tmpfs /dev/shm --bind $home $HOME --bind $work $work --unshare-all --die-with-parent /bin/true"
for r in $(seq "$rounds"); do
	hyperfine -N --style none --warmup 10 --runs "$runs" --export-json "$work/round$r.json" \
		-n runjail "$runjail -p default --net none -- /bin/true" \
		-n bwrap "bwrap --ro-bind / / --tmpfs /home --dev /dev --proc /proc --unshare-all --die-with-parent /bin/true" \
		-n bwrap-same "$same" >/dev/null
done
python3 - "$work"/round*.json <<'PY'
import json, statistics, sys
ratios, same = [], []
for f in sys.argv[1:]:
    r = {x["command"]: x["median"] for x in json.load(open(f))["results"]}
    ratios.append(r["runjail"] / r["bwrap"])
    same.append(r["runjail"] / r["bwrap-same"])
    print(f"round: runjail {r['runjail']*1000:.2f} ms, bwrap {r['bwrap']*1000:.2f} ms, ratio {ratios[-1]:.2f}; "
          f"bwrap with the same mounts {r['bwrap-same']*1000:.2f} ms, ratio {same[-1]:.2f}")
print(f"median start-to-exit of /bin/true: runjail/bwrap = {statistics.median(ratios):.2f} over {len(ratios)} rounds "
      f"({statistics.median(same):.2f} against bwrap with the same mounts)")
PY
