#!/usr/bin/env bash
# VFIO type1's "merge into an existing domain" path, end to end: two edu
# devices (tests/vm/run --edu 2), each alone in its IOMMU group, join one
# container. The first group's SET_IOMMU makes a non-coherent domain (and
# probes it with 2 pages); the second group's SET_CONTAINER makes a new
# domain, finds its coherency equal to the first one's (same ops, same
# enforce_cache_coherency) and moves the group into the existing domain,
# freeing the new one. nsflushd must report ONE domain with both groups and
# both devices; the second group leaving (not the last) unmaps and unpins
# nothing; exit unpins and flushes everything once. Then "rejoin": the
# second group leaves and comes back, the first leaves while the second
# stays. On each lab kernel, in enforce and audit mode
# (tests/nsflushd/guest-merge drives the guest).
. "$(dirname "$0")/../lib.sh"

MiB=$((1 << 20))
maps=$((48 * MiB))	# map 32M 2M, then map 16M after the detach
early=$((32 * MiB))	# what is mapped while both groups are attached
# type1 probes a NEW domain with 2 kernel pages (vfio_test_domain_fgsp) and
# replays the mappings into it. A merged group never reaches that code: in
# vfio_iommu_type1_attach_group the merge jumps to `done` right after moving
# the group, before the probe and the replay, and its temporary domain is
# freed without a single iommu_map. Observed on 6.12 and 6.1: 8192 bytes of
# probe in all, those of the first group's domain, flushed before the map
# and again before the pages are freed; none from 6.16 (probe, per kernel,
# in tests/kernels.sh).

# json MODE [mid POINT]: the report (final, or the one taken mid-run)
json() {
	if [ $# -gt 1 ]; then echo "$out" | sed -n "s/^mid merge mode=$1 point=$3 .* json=//p"
	else echo "$out" | sed -n "s/^scenario $sc mode=$1 .* json=//p"; fi
}
q() { json "$1" | jq -r "$2" 2>/dev/null; }		# q MODE JQ
qm() { json "$1" mid "$2" | jq -r "$3" 2>/dev/null; }	# qm MODE POINT JQ
meta() { echo "$out" | grep "^scenario $sc mode=$1 " | field "$2"; }
midmeta() { echo "$out" | grep "^mid merge mode=$1 point=$2 " | field "$3"; }
bytes_where() { q "$1" "[.ranges[] | select($2) | .bytes] | add // 0"; }
ev() { echo "$out" | sed -n "s/^ev $1: //p"; }

check_mode() {	# KERNEL MODE
	local k=$1 mode=$2 t="$1 merge $2" pid fails_before=$_failed sc=merge
	local total=$((maps + probe))

	pid=$(meta "$mode" pid)
	if [ -z "$pid" ]; then fail "$t" "scenario did not run"; return; fi
	expect_eq "$t: nsflushd ran and stopped cleanly" 0 \
		"$(echo "$out" | grep "^daemon mode=$mode " | field rc)"
	expect_eq "$t: workload ran to its exit" 0 "$(echo "$out" | grep "^wl-exit mode=$mode " | field rc)"
	expect_eq "$t: the second group left, the first stayed, nothing dropped" \
		"detach-group index=1 group=${grp[1]} dropped=0 attached=1" \
		"$(ev_wl "$mode" '^detach-group ')"
	expect_eq "$t: edu DMA through a map made after the detach round-trips" \
		"dma iova=0x2100000 dst_iova=0x2101000 bytes=4096 ok" "$(ev_wl "$mode" '^dma ')"

	# the domain
	expect_eq "$t: report complete, nothing lost" "true 0" \
		"$(q "$mode" '"\(.complete) \(.summary.lost_events)"')"
	expect_eq "$t: exactly one domain: non-coherent type1, the VMM's" \
		"1 vfio-type1 false $pid" \
		"$(q "$mode" '"\(.domains | length) " + (.domains | map("\(.backend) \(.coherent) \(.pid)") | join(","))')"
	expect_eq "$t: the domain lists both groups and both devices (the one that left too)" \
		"$groups $bdfs" \
		"$(q "$mode" '.domains | map("\(.groups | join(",")) \(.devices | join(","))") | join(";")')"
	expect_eq "$t: events name one domain only (the merged group's temporary one never shows)" 1 \
		"$(ev "$mode" | grep -E "^(map|attach|detach|unmap|domain-free) pid=$pid " | sed 's/.* domain=\([^ ]*\).*/\1/' | sort -u | wc -l)"
	expect_eq "$t: one attach event per group, both into that domain" "${grp[0]},${grp[1]}" \
		"$(ev "$mode" | grep "^attach pid=$pid " | sed 's/.* group=\([0-9]*\).*/\1/' | sort -n | paste -sd,)"

	# the bytes
	expect_eq "$t: mapped = workload's maps + one 2-page probe (merge: no probe)" "$total" \
		"$(q "$mode" .summary.mapped_bytes)"
	expect_eq "$t: map-origin runs = maps, attach-origin (probe) = $probe" "$maps $probe" \
		"$(q "$mode" '"\(.summary.mapped_by_origin.map) \(.summary.mapped_by_origin.attach)"')"
	expect_eq "$t: every mapped byte listed as a run or folded as done" "$total" \
		"$(q "$mode" '([.ranges[] | select(.point == "map") | .bytes] | add // 0) + .summary.done_bytes')"
	expect_eq "$t: nothing left mapped" 0 "$(q "$mode" .summary.live_bytes)"

	# the non-last detach: no unmap, no unpin, no flush. (Audit lists the
	# probe pages' unflushed free at attach as an unpin-point range.)
	local freed=0
	[ "$mode" = audit ] && freed=$probe
	expect_eq "$t: mid-run, both groups attached: 32M live, nothing unpinned" "$early $freed attached" \
		"$(qm "$mode" mapped '"\(.summary.live_bytes) \([.ranges[] | select(.point == "unpin") | .bytes] | add // 0) \(.domains[0].state)"')"
	expect_eq "$t: after the second group left: still 32M live, nothing unpinned, same groups" \
		"$early $freed attached $groups" \
		"$(qm "$mode" detached '"\(.summary.live_bytes) \([.ranges[] | select(.point == "unpin") | .bytes] | add // 0) \(.domains[0].state) \(.domains[0].groups | join(","))"')"
	expect_eq "$t: no unmap or unpin event between the two groups' detach events" 0 \
		"$(ev "$mode" | sed -n "/^detach pid=$pid .* group=${grp[1]} /,/^detach pid=$pid .* group=${grp[0]} /p" | grep -cE '^(unmap|unpin) ')"
	expect_eq "$t: the module flushed nothing between the two mid-run reports" \
		"$(midmeta "$mode" mapped module_flushed)" "$(midmeta "$mode" detached module_flushed)"
	case $mode in
	enforce)
		expect_eq "$t: audit exit 0, 0 unflushed" "0 0" "$(meta "$mode" rc) $(q "$mode" .summary.unflushed_bytes)"
		expect_eq "$t: flushed before map and before unpin (2 x (maps + probe)), as the module counted" \
			"$((2 * (maps + probe))) $((2 * (maps + probe)))" \
			"$(q "$mode" .summary.flushed_bytes) $(meta "$mode" module_flushed)"
		expect_eq "$t: mid-run the module had flushed the first maps and the probe (at map, at free)" \
			"$((early + 2 * probe))" "$(midmeta "$mode" detached module_flushed)"
		;;
	audit)
		expect_eq "$t: audit exit 1" 1 "$(meta "$mode" rc)"
		expect_eq "$t: no flush before map = maps + probe, no flush before unpin (or free) = maps + probe" \
			"$total $total" \
			"$(bytes_where "$mode" '.reason == "no-flush-before-map"') $(bytes_where "$mode" '.reason == "no-flush-before-unpin"')"
		expect_eq "$t: unflushed = both, nothing flushed" "$((2 * total)) 0 0" \
			"$(q "$mode" '"\(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta "$mode" module_flushed)"
		;;
	esac
	if [ "$_failed" != "$fails_before" ]; then
		echo "# $t: nsflushd --print-events trace:"; ev "$mode" | cut -c1-240 | sed 's/^/#   /'
	fi
}
# rejoin: map 16M 2M, the second group leaves and rejoins (merged again, into
# a domain that has mappings: still no probe, no replay), the FIRST group
# leaves while the second stays, map 16M, exit.
check_rejoin() {	# KERNEL MODE
	local k=$1 mode=$2 t="$1 rejoin $2" pid fails_before=$_failed sc=rejoin
	local m=$((32 * MiB)) wl

	pid=$(meta "$mode" pid)
	if [ -z "$pid" ]; then fail "$t" "scenario did not run"; return; fi
	wl=$(echo "$out" | sed -n "s/^wl rejoin $mode: //p" | grep -E '^(detach|attach)-group ' | paste -sd';')
	expect_eq "$t: workload ran to its exit" 0 "$(echo "$out" | grep "^wl-exit rejoin mode=$mode " | field rc)"
	expect_eq "$t: second group out and back, then the first out, nothing dropped" \
		"detach-group index=1 group=${grp[1]} dropped=0 attached=1;attach-group index=1 group=${grp[1]} attached=2;detach-group index=0 group=${grp[0]} dropped=0 attached=1" \
		"$wl"
	expect_eq "$t: report complete, one non-coherent type1 domain with both groups and devices" \
		"true 0 1 vfio-type1 false $groups $bdfs" \
		"$(q "$mode" '"\(.complete) \(.summary.lost_events) \(.domains | length) " + (.domains | map("\(.backend) \(.coherent) \(.groups | join(",")) \(.devices | join(","))") | join(";"))')"
	expect_eq "$t: attach events: first group once, second group twice, one domain" \
		"${grp[0]},${grp[1]},${grp[1]} 1" \
		"$(ev "$mode" | grep "^attach pid=$pid " | sed 's/.* group=\([0-9]*\).*/\1/' | sort -n | paste -sd,) $(ev "$mode" | grep -E "^(map|attach|detach|unmap|domain-free) pid=$pid " | sed 's/.* domain=\([^ ]*\).*/\1/' | sort -u | wc -l)"
	expect_eq "$t: mapped = maps + one probe (rejoining merges again: no probe, no replay)" \
		"$((m + probe)) $m $probe 0" \
		"$(q "$mode" '"\(.summary.mapped_bytes) \(.summary.mapped_by_origin.map) \(.summary.mapped_by_origin.attach) \(.summary.live_bytes)"')"
	expect_eq "$t: no unmap or unpin from the first detach event to the last (the release)" 0 \
		"$(ev "$mode" | grep " pid=$pid " | sed -n '/^detach /,$p' | tac | sed -n '/^detach /,$p' | grep -cE '^(unmap|unpin) ')"
	case $mode in
	enforce)
		expect_eq "$t: audit exit 0, 0 unflushed, flushed 2 x (maps + probe) as the module counted" \
			"0 0 $((2 * (m + probe))) $((2 * (m + probe)))" \
			"$(meta "$mode" rc) $(q "$mode" '"\(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta "$mode" module_flushed)"
		;;
	audit)
		expect_eq "$t: audit exit 1, no flush before map = maps + probe, before unpin (or free) = maps + probe, module idle" \
			"1 $((m + probe)) $((m + probe)) 0" \
			"$(meta "$mode" rc) $(bytes_where "$mode" '.reason == "no-flush-before-map"') $(bytes_where "$mode" '.reason == "no-flush-before-unpin"') $(meta "$mode" module_flushed)"
		;;
	esac
	if [ "$_failed" != "$fails_before" ]; then
		echo "# $t: nsflushd --print-events trace:"; ev "$mode" | grep " pid=$pid " | cut -c1-240 | sed 's/^/#   /'
	fi
}
ev_wl() { echo "$out" | sed -n "s/^wl $1: //p" | grep -E "$2"; }	# ev_wl MODE REGEX

for k in $(lab_kernels merge); do
	probe=$(kernel_fact "$k" probe)
	out=$(vm "$k" --edu 2 -- tests/nsflushd/guest-merge enforce audit 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q '^scenario '; then
		fail "$k merge: guest" "exited $rc"; echo "$out" | tail -n 30; continue
	fi
	bdfs=$(echo "$out" | grep '^edu ' | field bdfs)
	groups=$(echo "$out" | grep '^edu ' | field groups)
	IFS=, read -r -a grp <<<"$groups"
	if [ "${#grp[@]}" -ne 2 ] || [ "${grp[0]}" = "${grp[1]}" ]; then
		fail "$k merge: two edu devices in two IOMMU groups" "groups='$groups' bdfs='$bdfs'"; continue
	fi
	pass "$k merge: two edu devices in two IOMMU groups"
	for mode in enforce audit; do check_mode "$k" "$mode"; check_rejoin "$k" "$mode"; done
done
finish
