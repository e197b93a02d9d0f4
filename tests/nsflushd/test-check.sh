#!/usr/bin/env bash
# nsflush-audit --check on each lab kernel, the preflight an SRE runs before
# trusting the daemon: one boot each, three states of the same kernel:
# - no backend module: on the Debian kernels vfio_iommu_type1 (a module) is
#   unloaded first, so no backend is there at all; on iommufd-6.12 both are
#   built in; the helper module is absent, the kfunc unusable: exit 1;
# - VFIO loaded, helper module still absent: hooks attach, kfunc missing: 1;
# - helper module loaded: every required hook of each present backend
#   attached, the backend lines say which backends are hooked: exit 0.
. "$(dirname "$0")/../lib.sh"

declare -A backends=(
	[debian-6.12]="vfio-type1 hooked|iommufd absent"
	[debian-6.1]="vfio-type1 hooked|iommufd absent"
	[iommufd-6.12]="vfio-type1 hooked|iommufd hooked"
)
declare -A bare=(	# the first --check, before anything is loaded
	[debian-6.12]="hooks unavailable" [debian-6.1]="hooks unavailable"
	[iommufd-6.12]="backend iommufd hooked"
)

for k in ${NSFLUSH_VM_TEST_KERNELS:-debian-6.12 debian-6.1 iommufd-6.12}; do
	out=$(vm "$k" -- sh -c '
		check() { nsflush-audit --check > /tmp/c.out 2>&1; echo "$1 rc=$?"; sed "s/^/$1: /" /tmp/c.out; }
		[ -d /sys/module/vfio_iommu_type1/sections ] && { rmmod vfio_iommu_type1 || exit 1; }
		check bare
		tests/vm/guest/vfio-setup > /dev/null || exit 1
		check nokmod
		tests/vm/guest/load-kmod || exit 1
		check ready' 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | grep -q '^ready rc='; then
		fail "$k --check: guest" "exited $rc"; echo "$out" | tail -n 20; continue
	fi
	state() { echo "$out" | grep "^$1: " | sed "s/^$1: //"; }

	expect_eq "$k --check before VFIO and the module: exit 1" 1 \
		"$(echo "$out" | grep '^bare rc=' | field rc)"
	if state bare | grep -qx "${bare[$k]}"; then pass "$k --check before VFIO: '${bare[$k]}'"
	else fail "$k --check before VFIO: '${bare[$k]}'" "$(state bare | tr '\n' '|')"; fi
	expect_eq "$k --check before VFIO: kfunc unavailable" 1 \
		"$(state bare | grep -cx 'kfunc nsflush_flush_phys unavailable')"

	expect_eq "$k --check without the module: exit 1" 1 \
		"$(echo "$out" | grep '^nokmod rc=' | field rc)"
	expect_eq "$k --check without the module: backends" "${backends[$k]}" \
		"$(state nokmod | sed -n 's/^backend //p' | paste -sd'|')"

	expect_eq "$k --check ready: exit 0" 0 "$(echo "$out" | grep '^ready rc=' | field rc)"
	expect_eq "$k --check ready: backends" "${backends[$k]}" \
		"$(state ready | sed -n 's/^backend //p' | paste -sd'|')"
	expect_eq "$k --check ready: kfunc usable" 1 \
		"$(state ready | grep -cx 'kfunc nsflush_flush_phys usable')"
	# Every required hook of a present backend attached; optional ones may
	# fall back, hooks of an absent backend are not loaded.
	bad=$(state ready | grep '^hook ' | grep -v -E ' (attached|backend-absent( \(optional\))?|(no-btf|attach-failed) \(optional\))$')
	expect_eq "$k --check ready: no required hook missing" "" "$bad"
	n=$(state ready | grep -c ' attached$')
	if [ "$n" -ge 10 ]; then pass "$k --check ready: $n hooks attached"
	else fail "$k --check ready: hooks attached" "only $n"; fi
done
finish
