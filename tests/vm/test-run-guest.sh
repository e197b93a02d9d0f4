#!/bin/bash
# What CMD finds in the guest: the checkout read-write at the same path as
# its cwd, host /usr programs, the documented environment, stdin at EOF.
. "$(dirname "$0")/../lib.sh"
K=${NSFLUSH_VM_TEST_KERNEL:-debian-6.12}
probe=tests/vm/.probe.$$
trap 'rm -f "$NSFLUSH_ROOT/$probe"' EXIT

out=$(vm "$K" -- bash -c '
	echo "cwd=$PWD"
	echo "root=$NSFLUSH_ROOT"
	echo "path=$PATH"
	echo "home=$HOME"
	echo written >"$1" && echo "write=ok"
	echo "bash=$(bash -c "echo ok")"
	echo "python=$(python3 -c "print(\"ok\")" 2>&1)"
	[ -w /usr ] && echo "usr=rw" || echo "usr=ro"
	echo "stdin=$(cat | wc -c)"
	grep -q " /sys/fs/bpf bpf " /proc/mounts && echo "bpffs=ok"
	[ -d /sys/kernel/tracing/events ] && echo "tracefs=ok"
' bash "$probe" 2>/dev/null)

expect_eq guest-cwd "$NSFLUSH_ROOT" "$(field cwd <<<"$out")"
expect_eq guest-root-env "$NSFLUSH_ROOT" "$(field root <<<"$out")"
expect_eq guest-path "$NSFLUSH_ROOT/build:$NSFLUSH_ROOT/build/static:/usr/sbin:/usr/bin:/sbin:/bin" \
	"$(field path <<<"$out")"
expect_eq guest-home /root "$(field home <<<"$out")"
expect_eq guest-checkout-writable written "$(cat "$NSFLUSH_ROOT/$probe" 2>/dev/null)"
expect_eq guest-host-bash ok "$(field bash <<<"$out")"
if command -v python3 >/dev/null; then expect_eq guest-host-python3 ok "$(field python <<<"$out")"
else skip guest-host-python3 "no python3 on the host"; fi
expect_eq guest-usr-readonly ro "$(field usr <<<"$out")"
expect_eq guest-stdin-eof 0 "$(field stdin <<<"$out")"
expect_eq guest-bpffs ok "$(field bpffs <<<"$out")"
expect_eq guest-tracefs ok "$(field tracefs <<<"$out")"

# The tests' kernel table (tests/kernels.sh) covers every lab kernel, and
# `kernel list` prints one name a line (scripts and the Makefile read it).
expect_eq "kernels.sh lists what tests/vm/kernel list does" \
	"$(tests/vm/kernel list | sort | paste -sd' ')" \
	"$(sed -n 's/^\([a-z][a-z0-9.-]*\) .*/\1/p' <<<"$KERNEL_TABLE" | sort | paste -sd' ')"
finish
