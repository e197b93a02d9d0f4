#!/usr/bin/env bash
# A real VMM: QEMU inside the lab guest (tests/nsflushd/guest-qemu), the
# edu device assigned, paused with -S, then SIGTERM. QEMU maps guest RAM,
# unmaps and maps it again during machine init, and maps its BIOS pages at
# two IOVAs at once: in enforce mode the report's flushed bytes equal the
# helper module's counter to the byte (twice every mapped byte), in audit
# mode all of it is reported unflushed.
#   vfio-type1: the host's qemu-system-x86_64 (bookworm's 7.2), debian-6.12;
#   iommufd:    Debian 13's QEMU 10 (tests/vm/trixie-qemu: its packages
#               carried into the guest), -object iommufd, iommufd-6.12.
. "$(dirname "$0")/../lib.sh"

check_qemu() {	# KERNEL BACKEND GUEST-OUTPUT
	local k=$1 b=$2 out=$3 a e m live_a nc_a live_e fl_e nc_e t="$1 $2 qemu"
	get() { echo "$out" | grep "^case $1 "; }
	a=$(get audit) e=$(get enforce)
	if [ -z "$a" ] || [ -z "$e" ]; then
		fail "$t as the VMM: guest" "no result"; echo "$out" | tail -n 30; return
	fi
	# summaries: mapped,live,flushed,unflushed,lost,noncoherent_domains
	IFS=, read -r m live_a _ _ _ nc_a <<<"$(field live <<<"$a")"
	IFS=, read -r _ live_e fl_e _ _ nc_e <<<"$(field live <<<"$e")"
	if [ "${m:-0}" -gt $((192 << 20)) ] 2>/dev/null; then
		pass "$t -m 192: it mapped $m bytes over its life (more than its RAM)"
	else
		fail "$t -m 192: mapped its RAM" "$a"
	fi
	expect_eq "$t while it runs: one non-coherent domain, its memory live (audit, enforce)" \
		"1 1 yes" "$nc_a $nc_e $([ "${live_a:-0}" -gt 0 ] && [ "$live_a" = "$live_e" ] && echo yes)"
	expect_eq "$t enforce, running: flushed at every map so far" \
		"$(field live <<<"$e" | cut -d, -f1)" "$((fl_e - (m - live_e)))"
	expect_eq "$t audit: SIGTERM, exit 0; audit exit 1; every byte unflushed at map and unpin, nothing flushed" \
		"0 1 $m,0,0,$((2 * m)),0,0 0" \
		"$(field qemu_rc <<<"$a") $(field rc <<<"$a") $(field end <<<"$a") $(field module <<<"$a")"
	expect_eq "$t enforce: audit clean; flushed twice every mapped byte, as the module counted (aliased BIOS pages too)" \
		"0 0 $m,0,$((2 * m)),0,0,0 $((2 * m))" \
		"$(field qemu_rc <<<"$e") $(field rc <<<"$e") $(field end <<<"$e") $(field module <<<"$e")"
}

if command -v qemu-system-x86_64 > /dev/null; then
	check_qemu debian-6.12 vfio-type1 \
		"$(vm debian-6.12 --timeout 600 -- tests/nsflushd/guest-qemu audit enforce 2>&1)"
else
	skip "debian-6.12 vfio-type1 qemu as the VMM" "no qemu-system-x86_64"
fi

if qemu10=$("$NSFLUSH_ROOT/tests/vm/trixie-qemu" "$NSFLUSH_ROOT/build/trixie-qemu"); then
	check_qemu iommufd-6.12 iommufd \
		"$(vm iommufd-6.12 --timeout 600 -- env QEMU="$qemu10" BACKEND=iommufd \
			tests/nsflushd/guest-qemu audit enforce 2>&1)"
else
	fail "iommufd-6.12 iommufd qemu as the VMM" "Debian 13's QEMU could not be fetched"
fi
finish
