#!/usr/bin/env bash
# VFIO type1 end to end, with the workload client as the VMM, on each lab
# kernel: in audit, enforce and flush mode, every scenario's report is
# checked to the byte, and in enforce/flush mode against the helper
# module's own flushed_bytes counter. Then the snoop-control positive
# control: a coherent domain, nothing recorded, nothing flushed.
. "$(dirname "$0")/../lib.sh"

probe=8192	# type1 maps 2 kernel pages into each new domain to probe it
MiB=$((1 << 20))
declare -A mapped=(
	[map256]=$((256 * MiB)) [piecewise]=$((8 * MiB)) [exit]=$((64 * MiB))
	[kill]=$((32 * MiB)) [detach]=$((16 * MiB)) [small4k]=$((16 * MiB)) [dma]=$((16 * MiB))
)

# jq over scenario NAME's report in mode MODE
report() { echo "$out" | sed -n "s/^scenario $1 mode=$2 .* json=//p" | jq -r "$3" 2>/dev/null; }
meta() { echo "$out" | grep "^scenario $1 mode=$2 " | field "$3"; }
# bytes of the ranges matching a jq condition
bytes_where() { report "$1" "$2" "[.ranges[] | select($3) | .bytes] | add // 0"; }

check_scenario() {	# KERNEL MODE NAME
	local k=$1 mode=$2 s=$3 m=${mapped[$3]} t="$1 $2 $3"
	local total=$((m + probe))

	if [ -z "$(meta "$s" "$mode" pid)" ]; then fail "$t" "scenario did not run"; return; fi
	expect_eq "$t: report complete, nothing lost" "true 0" \
		"$(report "$s" "$mode" '"\(.complete) \(.summary.lost_events)"')"
	expect_eq "$t: mapped = workload's maps + type1's probe pages" "$total" \
		"$(report "$s" "$mode" .summary.mapped_bytes)"
	expect_eq "$t: map-origin runs = workload's maps" "$m" \
		"$(bytes_where "$s" "$mode" '.origin == "map" and .point == "map"')"
	expect_eq "$t: nothing left mapped" 0 "$(report "$s" "$mode" .summary.live_bytes)"
	expect_eq "$t: one non-coherent type1 domain, with the VMM's pid" \
		"vfio-type1 false $(meta "$s" "$mode" pid)" \
		"$(report "$s" "$mode" '.domains | map("\(.backend) \(.coherent) \(.pid)") | unique | join(",")')"
	expect_eq "$t: the domain names the edu device's group and PCI address" "$edu" \
		"$(report "$s" "$mode" '.domains | map("\(.groups | join(",")) \(.devices | join(","))") | unique | join(";")')"
	case $mode in
	audit)
		expect_eq "$t: audit exit 1" 1 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: no flush before map, no flush before unpin" "$total $m" \
			"$(bytes_where "$s" "$mode" '.reason == "no-flush-before-map"') $(bytes_where "$s" "$mode" '.reason == "no-flush-before-unpin"')"
		expect_eq "$t: unflushed = both, nothing flushed" "$((total + m)) 0 0" \
			"$(report "$s" "$mode" '"\(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta "$s" "$mode" module_flushed)"
		;;
	enforce)
		expect_eq "$t: audit exit 0" 0 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: 0 unflushed" 0 "$(report "$s" "$mode" .summary.unflushed_bytes)"
		expect_eq "$t: flushed before map and before unpin, as the module counted" \
			"$((total + m)) $((total + m))" \
			"$(report "$s" "$mode" .summary.flushed_bytes) $(meta "$s" "$mode" module_flushed)"
		;;
	flush)
		expect_eq "$t: audit exit 1" 1 "$(meta "$s" "$mode" rc)"
		expect_eq "$t: every daemon flush reported late" "$((total + m)) $((total + m))" \
			"$(bytes_where "$s" "$mode" '.reason == "late"') $(report "$s" "$mode" .summary.unflushed_bytes)"
		expect_eq "$t: the daemon flushed it all, as the module counted" \
			"$((total + m)) $((total + m))" \
			"$(report "$s" "$mode" .summary.flushed_bytes) $(meta "$s" "$mode" module_flushed)"
		;;
	esac
}

for k in ${NSFLUSH_VM_TEST_KERNELS:-debian-6.12 debian-6.1 iommufd-6.12}; do
	out=$(vm "$k" -- tests/nsflushd/guest-type1 audit enforce flush 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q '^scenario '; then
		fail "$k type1 scenarios: guest" "exited $rc"; echo "$out" | tail -n 30; continue
	fi
	edu="$(echo "$out" | grep '^edu ' | field group) $(echo "$out" | grep '^edu ' | field bdf)"
	for mode in audit enforce flush; do
		expect_eq "$k $mode: nsflushd ran and stopped cleanly" 0 \
			"$(echo "$out" | grep "^daemon mode=$mode " | field rc)"
		for s in "${!mapped[@]}"; do check_scenario "$k" "$mode" "$s"; done
		# type1v2 does not bisect a mapping: the kernel's unmapped size is the truth.
		expect_eq "$k $mode piecewise: the spanning unmap took the rest and skipped the hole" \
			6291456 "$(echo "$out" | grep "^wl piecewise: unmap iova=0x300000 " | sed -n "$(
				case $mode in audit) echo 1p ;; enforce) echo 2p ;; flush) echo 3p ;; esac)" | field unmapped)"
	done
	expect_eq "$k: edu DMA through a mapped IOVA round-trips in all three modes" 3 \
		"$(echo "$out" | grep -c '^wl dma: dma iova=0x100000 .* ok$')"

	# Positive control: snoop control on, domains coherent.
	out=$(vm "$k" --snoop-control -- tests/nsflushd/guest-type1 audit enforce 2>&1)
	for mode in audit enforce; do
		t="$k snoop-control $mode map256"
		expect_eq "$t: audit exit 0" 0 "$(meta map256 "$mode" rc)"
		expect_eq "$t: domain coherent" "true" "$(report map256 "$mode" '[.domains[].coherent] | unique | join(",")')"
		expect_eq "$t: nothing mapped non-coherently, unflushed or flushed" "0 0 0 0" \
			"$(report map256 "$mode" '"\(.summary.mapped_bytes) \(.summary.unflushed_bytes) \(.summary.flushed_bytes)"') $(meta map256 "$mode" module_flushed)"
		expect_eq "$t: the module flushed nothing in any scenario" 0 \
			"$(echo "$out" | grep "^scenario .* mode=$mode " | field module_flushed | sort -u | tr '\n' ' ' | sed 's/ $//')"
	done
done
finish
