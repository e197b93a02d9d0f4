#!/usr/bin/env bash
# VFIO type1 end to end, with the workload client as the VMM, on each lab
# kernel (iommufd-6.12 has type1 built in): in audit, enforce and flush
# mode, every scenario's report is checked to the byte, and in enforce/flush
# mode against the helper module's own flushed_bytes counter; on the
# type1-full kernel (tests/kernels.sh) also enforce with the BPF maps full
# (fails closed). Then the snoop-control positive control: coherent
# domains, nothing recorded, nothing flushed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/report-lib.sh"

MiB=$((1 << 20))
declare -A mapped=(
	[map256]=$((256 * MiB)) [piecewise]=$((8 * MiB)) [exit]=$((64 * MiB))
	[kill]=$((32 * MiB)) [detach]=$((16 * MiB)) [small4k]=$((16 * MiB)) [dma]=$((16 * MiB))
	# 4 MiB mapped at two IOVAs (QEMU does that with its BIOS)
	[alias]=$((8 * MiB))
)

# Guest limits are about 4x the longest run seen on the 2-core lab machine
# (224 s, type1 on an iommufd-6.12 build without THP, pinning 4 KiB pages),
# so a loaded CI host slows the suite down instead of failing it.
for k in $(lab_kernels type1); do
	# type1's probe of a new domain (kernels.sh): mapped at attach, then
	# unmapped and freed, an unpin point too (flushed there, as the seed does)
	probe=$(kernel_fact "$k" probe)
	full=; has_suite "$k" type1-full && full="full full_attaching full_domains"
	# shellcheck disable=SC2086 # the modes
	out=$(vm "$k" --timeout 900 -- tests/nsflushd/guest-type1 audit enforce flush $full 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q '^scenario '; then
		fail "$k type1 scenarios: guest" "exited $rc"; echo "$out" | tail -n 30; continue
	fi
	index_reports
	edu="$(echo "$out" | grep '^edu ' | field group) $(echo "$out" | grep '^edu ' | field bdf)"
	for mode in audit enforce flush; do
		expect_eq "$k $mode: nsflushd ran and stopped cleanly" 0 \
			"$(echo "$out" | grep "^daemon mode=$mode " | field rc)"
		for s in "${!mapped[@]}"; do
			check_scenario "$k" "$mode" "$s" vfio-type1 "${mapped[$s]}" "$probe" \
				$((mapped[$s] + probe))
		done
		# type1v2 does not bisect a mapping: the kernel's unmapped size is the truth.
		expect_eq "$k $mode piecewise: the spanning unmap took the rest and skipped the hole" \
			6291456 "$(echo "$out" | grep "^wl piecewise: unmap iova=0x300000 " | sed -n "$(
				case $mode in audit) echo 1p ;; enforce) echo 2p ;; flush) echo 3p ;; esac)" | field unmapped)"
	done
	expect_eq "$k: edu DMA through a mapped IOVA round-trips in all three modes" 3 \
		"$(echo "$out" | grep -c '^wl dma: dma iova=0x100000 .* ok$')"
	if [ -n "$full" ]; then
		check_filled "$k" full containers 4096
		for s in map256 exit; do
			check_fail_closed "$k" full "$s" $((mapped[$s] + probe)) $((mapped[$s] + probe))
		done
		# No room to note the attach: the domain is learnt when the attach
		# returns, so its 2-page probe goes unseen (counted), every later map
		# and unpin is flushed.
		check_filled "$k" full_attaching attaching 4096
		expect_eq "$k full_attaching map256: exit 3 (counted), mapped, 0 unflushed, maps and unpins flushed (module)" \
			"3 yes $((256 * MiB)) 0 $((512 * MiB))" \
			"$(meta map256 full_attaching rc) $(report map256 full_attaching 'if .summary.lost_events > 0 then "yes" else "no" end') $(report map256 full_attaching '"\(.summary.mapped_bytes) \(.summary.unflushed_bytes)"') $(meta map256 full_attaching module_flushed)"
		# No room for the domain: it cannot be learnt, its maps are neither
		# seen nor flushed (flushing every iommu_map instead would hit the
		# DMA API's too): that is counted, so the audit says it is incomplete.
		check_filled "$k" full_domains domains 4096
		expect_eq "$k full_domains map256: the domain not learnt: exit 3, counted" "3 false yes" \
			"$(meta map256 full_domains rc) $(report map256 full_domains '"\(.complete) \(if .summary.lost_events > 0 then "yes" else "no" end)"')"
	fi

	# Positive control: snoop control on, domains coherent.
	out=$(vm "$k" --snoop-control --timeout 600 -- tests/nsflushd/guest-type1 audit enforce 2>&1)
	index_reports
	for mode in audit enforce; do check_coherent "$k" "$mode" vfio-type1; done
done
finish
