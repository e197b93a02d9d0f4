#!/usr/bin/env bash
# A real VMM: the host's qemu-system-x86_64 inside the lab guest
# (tests/nsflushd/guest-qemu), the edu device assigned through VFIO type1,
# paused with -S, then SIGTERM. QEMU maps guest RAM, unmaps and maps it
# again during machine init, and maps its BIOS pages at two IOVAs at once:
# in enforce mode the report's flushed bytes equal the helper module's
# counter to the byte (twice every mapped byte), in audit mode all of it
# is reported unflushed.
. "$(dirname "$0")/../lib.sh"

k=debian-6.12
if ! command -v qemu-system-x86_64 > /dev/null; then
	skip "$k qemu as the VMM" "no qemu-system-x86_64"; finish
fi
out=$(vm "$k" --timeout 600 -- tests/nsflushd/guest-qemu audit enforce 2>&1)
get() { echo "$out" | grep "^case $1 "; }
a=$(get audit) e=$(get enforce)
if [ -z "$a" ] || [ -z "$e" ]; then
	fail "$k qemu as the VMM: guest" "no result"; echo "$out" | tail -n 30; finish
fi
# summaries: mapped,live,flushed,unflushed,lost,noncoherent_domains
IFS=, read -r m live_a _ _ _ nc_a <<<"$(field live <<<"$a")"
IFS=, read -r _ live_e fl_e _ _ nc_e <<<"$(field live <<<"$e")"
if [ "${m:-0}" -gt $((192 << 20)) ] 2>/dev/null; then
	pass "$k qemu -m 192: it mapped $m bytes over its life (more than its RAM)"
else
	fail "$k qemu -m 192: mapped its RAM" "$a"
fi
expect_eq "$k qemu while it runs: one non-coherent domain, its memory live (audit, enforce)" \
	"1 1 yes" "$nc_a $nc_e $([ "${live_a:-0}" -gt 0 ] && [ "$live_a" = "$live_e" ] && echo yes)"
expect_eq "$k qemu enforce, running: flushed at every map so far" \
	"$(field live <<<"$e" | cut -d, -f1)" "$((fl_e - (m - live_e)))"
expect_eq "$k qemu audit: SIGTERM, exit 0; audit exit 1; every byte unflushed at map and unpin, nothing flushed" \
	"0 1 $m,0,0,$((2 * m)),0,0 0" \
	"$(field qemu_rc <<<"$a") $(field rc <<<"$a") $(field end <<<"$a") $(field module <<<"$a")"
expect_eq "$k qemu enforce: audit clean; flushed twice every mapped byte, as the module counted (aliased BIOS pages too)" \
	"0 0 $m,0,$((2 * m)),0,0,0 $((2 * m))" \
	"$(field qemu_rc <<<"$e") $(field rc <<<"$e") $(field end <<<"$e") $(field module <<<"$e")"
finish
