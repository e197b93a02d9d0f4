# shellcheck shell=bash disable=SC2154 # $out: the guest output, set by the sourcing test
# Sourced by the host-side scenario tests (test-type1.sh, test-iommufd.sh):
# reads the guest's "scenario NAME mode=MODE ... json=<report>" lines from
# $out and checks one scenario's report to the byte.

# Splits the scenario lines of $out into one file per report, once per
# guest run: the reports run to megabytes, too big to grep for every check.
rdir=$(mktemp -d /tmp/nsflush-reports.XXXXXX)
trap 'rm -rf "$rdir"' EXIT
index_reports() {
	rm -f "$rdir"/*
	echo "$out" | awk -v d="$rdir" '/^scenario / {
		split($3, m, "="); f = d "/" m[2] "." $2; i = index($0, " json=")
		print substr($0, 1, i - 1) > (f ".meta"); close(f ".meta")
		print substr($0, i + 6) > (f ".json"); close(f ".json") }'
}
# jq over scenario NAME's report in mode MODE
report() { jq -r "$3" "$rdir/$2.$1.json" 2>/dev/null; }
meta() { field "$3" < "$rdir/$2.$1.meta" 2>/dev/null; }
# bytes of the ranges matching a jq condition
bytes_where() { report "$1" "$2" "[.ranges[] | select($3) | .bytes] | add // 0"; }

# check_scenario KERNEL MODE NAME BACKEND MAPPED FILLED UNPINNED
#   MAPPED   bytes the VMM's map requests put into non-coherent domains
#   FILLED   bytes the kernel mapped while attaching a domain (type1's probe
#            pages and replay, iommufd's fill from existing areas)
#   UNPINNED bytes of those pages unpinned (once per page, however many
#            domains mapped it)
# $edu is "GROUP BDF" of the device. MODE is audit, enforce or flush (or a
# label whose daemon ran in enforce mode, given as ENFORCE_LIKE=1).
check_scenario() {
	local mode=$2 s=$3 backend=$4 m=$5 a=$6 u=$7 t="$1 $2 $3"
	local total=$(($5 + $6)) both=$(($5 + $6 + $7)) kind=$2

	if [ -z "$(meta "$s" "$mode" pid)" ]; then fail "$t" "scenario did not run"; return; fi
	[ "${ENFORCE_LIKE:-0}" = 1 ] && kind=enforce
	expect_eq "$t: report complete, nothing lost" "true 0" \
		"$(report "$s" "$mode" '"\(.complete) \(.summary.lost_events)"')"
	expect_eq "$t: mapped = map requests + attach-time maps" "$total" \
		"$(report "$s" "$mode" .summary.mapped_bytes)"
	expect_eq "$t: mapped by origin (map, attach)" "$m $a" \
		"$(report "$s" "$mode" '"\(.summary.mapped_by_origin.map) \(.summary.mapped_by_origin.attach)"')"
	expect_eq "$t: every mapped byte listed as a run or folded as done" "$total" \
		"$(report "$s" "$mode" '([.ranges[] | select(.point == "map") | .bytes] | add // 0) + .summary.done_bytes')"
	expect_eq "$t: nothing left mapped" 0 "$(report "$s" "$mode" .summary.live_bytes)"
	expect_eq "$t: non-coherent $backend domains, with the VMM's pid" \
		"$backend false $(meta "$s" "$mode" pid)" \
		"$(report "$s" "$mode" '.domains | map("\(.backend) \(.coherent) \(.pid)") | unique | join(",")')"
	expect_eq "$t: the domains name the edu device's group and PCI address" "$edu" \
		"$(report "$s" "$mode" '"\([.domains[].groups[]] | unique | join(",")) \([.domains[].devices[]] | unique | join(","))"')"
	case $kind in
	audit)
		expect_eq "$t: audit exit 1" 1 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: no flush before map, no flush before unpin" "$total $u" \
			"$(bytes_where "$s" "$mode" '.reason == "no-flush-before-map"') $(bytes_where "$s" "$mode" '.reason == "no-flush-before-unpin"')"
		expect_eq "$t: unflushed = both, nothing flushed" "$both 0 0" \
			"$(report "$s" "$mode" '"\(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta "$s" "$mode" module_flushed)"
		;;
	enforce)
		expect_eq "$t: audit exit 0" 0 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: 0 unflushed" 0 "$(report "$s" "$mode" .summary.unflushed_bytes)"
		expect_eq "$t: flushed before map and before unpin, as the module counted" \
			"$both $both" \
			"$(report "$s" "$mode" .summary.flushed_bytes) $(meta "$s" "$mode" module_flushed)"
		;;
	flush)
		expect_eq "$t: audit exit 1" 1 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: every daemon flush reported late" "$both $both" \
			"$(bytes_where "$s" "$mode" '.reason == "late"') $(report "$s" "$mode" .summary.unflushed_bytes)"
		expect_eq "$t: the daemon flushed it all, as the module counted" "$both $both" \
			"$(report "$s" "$mode" .summary.flushed_bytes) $(meta "$s" "$mode" module_flushed)"
		;;
	esac
}

# check_fail_closed KERNEL MODE NAME MAPPED UNPINNED: enforce with a map
# the record needs filled up first (MODE labels that run): the report says
# what it could not track (audit incomplete, exit 3), and every byte is
# still flushed before map and before unpin.
check_fail_closed() {
	local t="$1 $2 $3" mode=$2 s=$3 m=$4 u=$5

	if [ -z "$(meta "$s" "$mode" pid)" ]; then fail "$t" "scenario did not run"; return; fi
	expect_eq "$t: audit exit 3 (incomplete), what was not tracked counted" "3 false yes" \
		"$(meta "$s" "$mode" rc) $(report "$s" "$mode" '"\(.complete) \(if .summary.lost_events > 0 then "yes" else "no" end)"')"
	expect_eq "$t: mapped, 0 unflushed" "$m 0" \
		"$(report "$s" "$mode" '"\(.summary.mapped_bytes) \(.summary.unflushed_bytes)"')"
	expect_eq "$t: flushed before map and before unpin, as the module counted" \
		"$((m + u)) $((m + u))" \
		"$(report "$s" "$mode" .summary.flushed_bytes) $(meta "$s" "$mode" module_flushed)"
}

# check_filled KERNEL MODE NAME MAX: the guest's fill-bpf-map line for MODE
check_filled() {
	expect_eq "$1 $2: $3 was filled before the scenarios" "$4 max" \
		"$(echo "$out" | sed -n "s/^$2: filled $3: [0-9]* added, \\([0-9]*\\) max$/\\1 max/p")"
}

# snoop control on: every scenario's domains coherent, nothing recorded or flushed
check_coherent() {	# KERNEL MODE BACKEND
	local t="$1 snoop-control $2" s

	for s in $(cd "$rdir" && for f in "$2".*.meta; do [ -f "$f" ] && f=${f#"$2".} && echo "${f%.meta}"; done); do
		expect_eq "$t $s: audit exit 0, domains coherent $3" "0 $3 true" \
			"$(meta "$s" "$2" rc) $(report "$s" "$2" '.domains | map("\(.backend) \(.coherent)") | unique | join(",")')"
		expect_eq "$t $s: nothing mapped non-coherently, unflushed or flushed" "0 0 0 0" \
			"$(report "$s" "$2" '"\(.summary.mapped_bytes) \(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta "$s" "$2" module_flushed)"
	done
}
