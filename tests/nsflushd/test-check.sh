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

# What --check says of the backends once VFIO is loaded, and before
# anything is (built-in backends are hooked even then), from kernels.sh.
backends_line() {
	case ,$(kernel_fact "$1" backends), in
	*,iommufd,*) echo "vfio-type1 hooked|iommufd hooked" ;;
	*) echo "vfio-type1 hooked|iommufd absent" ;;
	esac
}
bare_line() {
	case ,$(kernel_fact "$1" backends), in
	*,iommufd,*) echo "backend iommufd hooked" ;;
	*) echo "hooks unavailable" ;;
	esac
}
# The Intel coherency hooks that attach: the op whole, or split by stage.
intel_cc_hooks() {
	case $(kernel_fact "$1" intel_cc) in
	split) echo "intel_iommu_enforce_cache_coherency_fs intel_iommu_enforce_cache_coherency_ss" ;;
	*) echo "intel_iommu_enforce_cache_coherency" ;;
	esac
}
# ... and the --check lines of the form it lacks, each covered by the
# last attached hook of the other form.
intel_cc_others() {
	local op=intel_iommu_enforce_cache_coherency
	case $(kernel_fact "$1" intel_cc) in
	split) echo "$op no-btf (optional, covered by ${op}_ss)" ;;
	*) echo "${op}_fs no-btf (optional, covered by $op)|${op}_ss no-btf (optional, covered by $op)" ;;
	esac
}

for k in $(lab_kernels check); do
	backends=$(backends_line "$k") bare=$(bare_line "$k")
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
	if state bare | grep -qx "$bare"; then pass "$k --check before VFIO: '$bare'"
	else fail "$k --check before VFIO: '$bare'" "$(state bare | tr '\n' '|')"; fi
	expect_eq "$k --check before VFIO: kfunc unavailable" 1 \
		"$(state bare | grep -cx 'kfunc nsflush_flush_phys unavailable')"

	expect_eq "$k --check without the module: exit 1" 1 \
		"$(echo "$out" | grep '^nokmod rc=' | field rc)"
	expect_eq "$k --check without the module: backends" "$backends" \
		"$(state nokmod | sed -n 's/^backend //p' | paste -sd'|')"

	expect_eq "$k --check ready: exit 0" 0 "$(echo "$out" | grep '^ready rc=' | field rc)"
	expect_eq "$k --check ready: backends" "$backends" \
		"$(state ready | sed -n 's/^backend //p' | paste -sd'|')"
	expect_eq "$k --check ready: kfunc usable" 1 \
		"$(state ready | grep -cx 'kfunc nsflush_flush_phys usable')"
	# Every required hook of a present backend attached; optional ones may
	# fall back, hooks of an absent backend are not loaded.
	bad=$(state ready | grep '^hook ' | grep -v -E ' (attached|backend-absent( \(optional\))?|(no-btf|attach-failed) \(optional(, covered by [a-z0-9_]+)?\))$')
	expect_eq "$k --check ready: no required hook missing" "" "$bad"
	# The vendor's coherency op, hooked by its name on this kernel.
	expect_eq "$k --check ready: Intel coherency hooks attached" "$(intel_cc_hooks "$k")" \
		"$(state ready | awk '$1 == "hook" && $3 ~ /^intel_iommu_enforce_cache_coherency/ && $4 == "attached" { print $3 }' | paste -sd' ')"
	# The other form of the op is not on this kernel: covered, not a fallback.
	expect_eq "$k --check ready: the other form of the Intel op covered by the attached one" \
		"$(intel_cc_others "$k")" \
		"$(state ready | awk '$1 == "hook" && $3 ~ /^intel_iommu_enforce_cache_coherency/ && $4 != "attached" { print $3, $4, $5, $6, $7, $8 }' | paste -sd'|')"
	n=$(state ready | grep -c ' attached$')
	if [ "$n" -ge 10 ]; then pass "$k --check ready: $n hooks attached"
	else fail "$k --check ready: hooks attached" "only $n"; fi
done
finish
