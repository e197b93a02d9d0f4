#!/usr/bin/env bash
# iommufd end to end on the iommufd-6.12 lab kernel, with the workload
# client as the VMM (/dev/iommu + the edu device's VFIO cdev): the type1
# issue's scenarios and iommufd's own (fill at attach, explicit HWPT, IOAS
# copy, two IOAS, close), in audit, enforce and flush mode, each report
# checked to the byte and against the helper module's flushed_bytes; the
# hwpt-alloc fallback (vendor coherency answer) in enforce mode; a required
# hook missing stops nsflushd with one line; enforce with a map the marks
# of non-coherently mapped iopt_pages need full (fails closed); the
# per-thread maps empty after every mode, and a stale entry cleaned at its
# thread's next attach; then snoop control on:
# coherent, nothing recorded or flushed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/report-lib.sh"

k=iommufd-6.12
MiB=$((1 << 20))
# NAME: bytes mapped by map requests, filled at attach, unpinned
declare -A expect=(
	[map256]="$((256 * MiB)) 0 $((256 * MiB))"
	[piecewise]="$((8 * MiB)) 0 $((8 * MiB))"
	[exit]="$((64 * MiB)) 0 $((64 * MiB))"
	[kill]="$((32 * MiB)) 0 $((32 * MiB))"
	[detach]="$((16 * MiB)) 0 $((16 * MiB))"
	[small4k]="$((16 * MiB)) 0 $((16 * MiB))"
	[dma]="$((16 * MiB)) 0 $((16 * MiB))"
	# mapped before any domain: pinned and mapped only by the fill at attach
	[fill]="0 $((16 * MiB)) $((16 * MiB))"
	# the automatic domain by IOAS_MAP, the explicit HWPT by its fill
	[hwpt]="$((16 * MiB)) $((16 * MiB)) $((16 * MiB))"
	# IOAS_COPY maps the same pages into IOAS 1's domain: unpinned once
	[copy]="$((32 * MiB)) 0 $((16 * MiB))"
	# IOAS 0: 16M into its automatic domain; IOAS 1: 8M, filled into its HWPT
	[two_ioas]="$((16 * MiB)) $((8 * MiB)) $((24 * MiB))"
	[close]="$((32 * MiB)) 0 $((32 * MiB))"
)
declare -A ndomains=([hwpt]=2 [copy]=2 [two_ioas]=2)
declare -A ncontainers=([copy]=2 [two_ioas]=2)

# flush mode (after the fact by construction, fully covered by the type1
# suite) and the fallback on a subset, to keep the guest run short. The
# limits are about 4x what the runs take on the 2-core lab machine (400 s
# and 100 s), so a loaded CI host slows the suite instead of failing it.
flush_subset="map256 piecewise fill hwpt copy"
out=$(vm "$k" --timeout 1500 -- sh -c "tests/nsflushd/guest-iommufd audit enforce
	NSFLUSH_SCENARIOS='$flush_subset' tests/nsflushd/guest-iommufd flush fallback full full_fill stale" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q '^scenario '; then
	fail "$k iommufd scenarios: guest" "exited $rc"; echo "$out" | tail -n 30; finish
fi
index_reports
edu="$(echo "$out" | grep '^edu ' | field group) $(echo "$out" | grep '^edu ' | field bdf)"
for mode in audit enforce flush; do
	expect_eq "$k $mode: nsflushd ran with both backends hooked and stopped cleanly" "0 hooked" \
		"$(echo "$out" | grep "^daemon mode=$mode " | field rc) $(echo "$out" |
			grep -q "^daemon-log: nsflushd: ready: mode $mode, backends vfio-type1 iommufd," &&
			echo hooked)"
	for s in "${!expect[@]}"; do
		[ "$mode" != flush ] || [[ " $flush_subset " == *" $s "* ]] || continue
		# shellcheck disable=SC2086 # three numbers
		check_scenario "$k" "$mode" "$s" iommufd ${expect[$s]}
		expect_eq "$k $mode $s: domains, IOASes" "${ndomains[$s]:-1} ${ncontainers[$s]:-1}" \
			"$(report "$s" "$mode" '"\(.domains | length) \([.domains[].container] | unique | length)"')"
	done
	# iommufd does not split an area either; the spanning unmap skips the hole
	expect_eq "$k $mode piecewise: the spanning unmap took the rest" 6291456 \
		"$(echo "$out" | grep "^wl piecewise: unmap iova=0x300000 " | sed -n "$(
			case $mode in audit) echo 1p ;; enforce) echo 2p ;; flush) echo 3p ;; esac)" | field unmapped)"
done
for s in dma fill hwpt copy two_ioas; do
	expect_eq "$k $s: edu DMA through the IOAS round-trips in every mode" \
		"$(echo "$out" | grep -c "^wl $s: dma ")" "$(echo "$out" | grep -c "^wl $s: dma .* ok$")"
done
expect_eq "$k copy: DMA through IOAS 1's copy works (audit, enforce, flush, full, full_fill)" 5 \
	"$(echo "$out" | grep -c '^wl copy: dma iova=0x200000 .* ok$')"

# iommufd_hwpt_paging_alloc not hooked: the vendor's answer decides (none: not coherent)
expect_eq "$k fallback: nsflushd says which hook falls back" 1 \
	"$(echo "$out" | grep -c '^daemon-log: nsflushd: iommufd_hwpt_paging_alloc not hooked (--skip-hook): ')"
for s in map256 fill hwpt; do
	# shellcheck disable=SC2086
	ENFORCE_LIKE=1 check_scenario "$k" fallback "$s" iommufd ${expect[$s]}
done

# A map the marks need, full before the first map (full: the map of
# iopt_pages mapped non-coherently; full_fill: the per-thread map of areas
# being filled): the marks are counted as lost (audit incomplete, exit 3)
# and every batch_unpin is flushed, so enforce still leaves nothing unflushed.
declare -A full_map=([full]="iommufd_nc_page 65536" [full_fill]="iommufd_filling 4096")
for mode in full full_fill; do
	# shellcheck disable=SC2086 # name and size
	check_filled "$k" "$mode" ${full_map[$mode]}
	for s in map256 fill copy; do
		read -r m a u <<<"${expect[$s]}"
		check_fail_closed "$k" "$mode" "$s" $((m + a)) "$u"
	done
done

# What each thread keeps for one attach, fill or replace is gone after it.
for mode in audit enforce flush fallback stale; do
	expect_eq "$k $mode: no entry left in the per-thread maps after the scenarios" \
		"attaching=0 filling=0 iommufd_allocat=0 iommufd_filling=0 iommufd_replaci=0" \
		"$(echo "$out" | grep "^left mode=$mode " | cut -d' ' -f3-)"
done
expect_eq "$k: a stale per-thread entry (as a nested-HWPT attach leaves) is cleaned at the thread's next attach" \
	"1 0 1" "$(echo "$out" | grep '^stale ' | { read -r l; echo "$(field before <<<"$l") $(field after <<<"$l") ${l##* }"; })"

# Positive control: snoop control on, every HWPT coherent, with and without
# the fallback; and a required hook that cannot be attached stops the start.
out=$(vm "$k" --snoop-control --timeout 600 -- sh -c 'NSFLUSH_SCENARIOS="map256 fill hwpt two_ioas" \
	tests/nsflushd/guest-iommufd audit enforce fallback
	nsflushd --mode audit --skip-hook batch_unpin --socket /tmp/x.sock --textfile-dir /tmp >/tmp/o 2>/tmp/e
	echo "skip-required rc=$? out=$(wc -c </tmp/o) lines=$(wc -l </tmp/e) err=$(head -c 200 /tmp/e | tr " " _)"' 2>&1)
index_reports
for mode in audit enforce fallback; do check_coherent "$k" "$mode" iommufd; done
line=$(echo "$out" | grep '^skip-required ')
expect_eq "$k: a required hook skipped: exit 2, one line naming it" \
	"2 0 1 nsflushd:_kernel_function_batch_unpin_is_skipped_(--skip-hook):_cannot_hook_it" \
	"$(echo "$line" | field rc) $(echo "$line" | field out) $(echo "$line" | field lines) $(echo "$line" | field err)"
finish
