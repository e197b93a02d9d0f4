#!/bin/bash
# On every lab kernel the edu device ends up on vfio-pci with its group node
# exported to CMD (alone in the NSFLUSH_EDU_BDFS/_GROUPS lists), and
# vfio-setup can be rerun.
. "$(dirname "$0")/../lib.sh"
kernels=${NSFLUSH_VM_TEST_KERNELS:-debian-6.12 debian-6.1}

for k in $kernels; do
	out=$(vm "$k" -- sh -c '
		echo "group=${NSFLUSH_EDU_GROUP:-unset} bdf=${NSFLUSH_EDU_BDF:-unset}"
		echo "bdfs=${NSFLUSH_EDU_BDFS:-unset} groups=${NSFLUSH_EDU_GROUPS:-unset}"
		[ -c "${NSFLUSH_EDU_GROUP:-/nonexistent}" ] && echo "chardev=yes"
		echo "driver=$(basename "$(readlink /sys/bus/pci/devices/$NSFLUSH_EDU_BDF/driver)")"
		again=$(tests/vm/guest/vfio-setup) && echo "rerun=$(echo $again | tr " " ,)"
	' 2>&1)
	group=$(field group <<<"$out")
	case $group in
	/dev/vfio/[0-9]*) pass "vfio-group[$k]" ;;
	*) fail "vfio-group[$k]" "NSFLUSH_EDU_GROUP='$group': $(grep vfio-setup: <<<"$out" | head -n1)" ;;
	esac
	expect_eq "vfio-group-chardev[$k]" yes "$(field chardev <<<"$out")"
	expect_eq "vfio-edu-driver[$k]" vfio-pci "$(field driver <<<"$out")"
	bdf=$(field bdf <<<"$out")
	expect_eq "vfio-edu-lists[$k]" "bdfs=$bdf groups=$group" "$(grep '^bdfs=' <<<"$out")"
	expect_eq "vfio-setup-rerun[$k]" \
		"NSFLUSH_EDU_BDF=$bdf,NSFLUSH_EDU_GROUP=$group,NSFLUSH_EDU_BDFS='$bdf',NSFLUSH_EDU_GROUPS='$group'" \
		"$(field rerun <<<"$out")"
done
finish
