#!/usr/bin/env bash
# nsflushd's hooks on vfio_iommu_type1 see every page the workload pins and
# unpins, attributed to it, with no event lost: dynamic build on 6.12,
# static build on 6.1.
. "$(dirname "$0")/../lib.sh"

for run in "debian-6.12 build/nsflushd" "debian-6.1 build/static/nsflushd"; do
	set -- $run
	k=$1 bin=$2
	out=$(vm "$k" -- tests/nsflushd/guest-events "$NSFLUSH_ROOT/$bin" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then fail "$k $bin: guest" "exited $rc"; echo "$out" | tail -n 20; continue; fi
	pid=$(echo "$out" | grep -m1 '^pid=' | field pid)
	summary=$(echo "$out" | grep '^log: summary ')
	expect_eq "$k $bin attaches and exits cleanly" 0 "$(echo "$out" | grep '^daemon: ' | field rc)"
	expect_eq "$k $bin workload mapped 256 MiB" "268435456" \
		"$(echo "$out" | grep '^map ' | field size)"
	expect_eq "$k $bin pinned bytes = mapped" 268435456 "$(field pinned_bytes <<<"$summary")"
	expect_eq "$k $bin unpinned bytes = mapped" 268435456 "$(field unpinned_bytes <<<"$summary")"
	expect_eq "$k $bin no event lost" 0 "$(field lost_events <<<"$summary")"
	others=$(echo "$out" | grep -E '^log: (pin|unpin) ' | grep -vc " pid=$pid comm=nsflush-workloa ")
	expect_eq "$k $bin every event attributed to the workload (pid $pid)" 0 "$others"
	# The runs must tile the mapped IOVA range exactly: no gap, no overlap.
	for kind in pin unpin; do
		tiles=$(echo "$out" | grep "^log: $kind " | sed 's/.* iova=\(0x[0-9a-f]*\) .* bytes=\([0-9]*\).*/\1 \2/' |
			while read -r iova bytes; do echo "$((iova)) $bytes"; done | sort -n |
			awk 'NR == 1 { start = $1; end = $1 }
			     { if ($1 != end) bad = 1; end = $1 + $2 }
			     END { printf "%#x-%#x%s", start, end, bad ? " with gaps/overlaps" : "" }')
		expect_eq "$k $bin $kind runs tile the mapped IOVA range" "0x100000-0x10100000" "$tiles"
	done
done
finish
