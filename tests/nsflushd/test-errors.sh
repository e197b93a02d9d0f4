#!/usr/bin/env bash
# Bad input and broken environments get one clear line and a non-zero
# exit, never a crash; lost events are counted, surfaced, and make the
# audit exit 3. nsflush-audit's exit codes 0, 2 and 3 are reached here
# (1 in test-type1.sh); nsflushd's 1 (runtime failure), 2 (bad usage), 3
# (the kernel lacks what is required) and 4 (not root), as --help says.
. "$(dirname "$0")/../lib.sh"

declare -A want=(
	[audit-no-daemon]="2 nsflushd is not running"
	[audit-bad-pid]="2 invalid pid"
	[audit-no-pid]="2 --pid"
	[audit-unknown-flag]="2 unknown option"
	[audit-no-such-pid]="2 no such pid"
	[audit-not-root]="2 permission denied"
	[daemon-second-instance]="1 another nsflushd is running (it holds /sys/fs/bpf/nsflush)"
	[unload-while-running]="1 another nsflushd is running"
	[unload-nothing-pinned]="1 nothing to unload: /sys/fs/bpf/nsflush does not exist"
	[daemon-pin-dir-not-bpffs]="1 /tmp/nsflush-pins is not on a BPF filesystem"
	[daemon-incompatible-pins]="1 holds pins of an incompatible nsflush (control block of ABI"
	[daemon-ringbuf-differs]="1 the pinned ring buffer has 4194304 bytes, not 8192"
	[daemon-bpffs-not-mountable]="1 cannot mount bpffs on /sys/fs/bpf: Operation not permitted"
	[daemon-unknown-flag]="2 unknown option"
	[daemon-bad-pid]="2 invalid pid"
	[daemon-bad-mode]="2 invalid mode"
	[daemon-textfile-readonly]="2 unwritable textfile dir"
	[daemon-textfile-missing]="2 unwritable textfile dir"
	[daemon-not-root]="4 must run as root"
	[daemon-enforce-no-module]="3 needs the helper module"
	[daemon-flush-no-module]="3 needs the helper module"
	[daemon-no-btf]="3 no BTF"
	[daemon-no-vfio]="3 neither VFIO type1 nor iommufd is in this kernel"
	[daemon-skip-unknown-hook]="2 --skip-hook no_such_function: nsflush does not hook that function"
	[daemon-skip-required-hook]="2 vfio_unpin_pages_remote is skipped (--skip-hook): cannot hook it"
)

for k in $(lab_kernels errors); do
out=$(vm "$k" -- tests/nsflushd/guest-errors 2>&1)
for name in "${!want[@]}"; do
	line=$(echo "$out" | grep "^case $name ")
	rc=${want[$name]%% *} text=${want[$name]#* }
	if [ -z "$line" ]; then fail "$k $name" "did not run"; continue; fi
	got="$(field rc <<<"$line") $(field lines <<<"$line")"
	if [ "$got" = "$rc 1" ] && [[ $line == *"msg="*"$text"* ]]; then
		pass "$k $name: exit $rc, one line: ${line#*msg=}"
	else
		fail "$k $name" "want exit $rc and one line with '$text', got: $line"
	fi
	# a refused start pins nothing (the incompatible case keeps the one map it
	# found; the second instance and the ring size meet pins already there)
	case $name in
	daemon-second-instance | daemon-ringbuf-differs) ;;
	daemon-incompatible-pins) expect_eq "$k $name: nothing pinned beside it" 1 "$(field pins <<<"$line")" ;;
	daemon-*) expect_eq "$k $name: nothing pinned" 0 "$(field pins <<<"$line")" ;;
	esac
done
expect_eq "$k bpffs not mounted: nsflushd mounts it" "bpffs-mounted 1" "$(echo "$out" | grep '^bpffs-mounted ')"
expect_eq "$k audit of a process that never used VFIO: exit 0, nothing printed on stderr" "0 0" \
	"$(echo "$out" | grep '^case audit-pid-without-vfio ' | field rc) $(echo "$out" | grep '^case audit-pid-without-vfio ' | field lines)"
# older than nsflushd, but the start-up walk saw it holds no VFIO file
expect_eq "$k audit of a process older than nsflushd with no VFIO file: exit 0" "0 0" \
	"$(echo "$out" | grep '^case audit-pid-before-watch ' | field rc) $(echo "$out" | grep '^case audit-pid-before-watch ' | field lines)"

lost=$(echo "$out" | grep '^lost ')
expect_eq "$k events lost with a 4 KiB ring buffer: audit exit 3" 3 "$(field rc <<<"$lost")"
n=$(echo "$lost" | sed 's/.*json=//' | jq -r .lost_events)
if [ "${n:-0}" -gt 0 ] 2>/dev/null; then pass "$k lost events counted in the report ($n)"; else fail "$k lost events counted in the report" "got '$n'"; fi
expect_eq "$k lost events in the textfile" "nsflush_events_lost_total $n" "$(echo "$out" | sed -n 's/^lost-prom //p')"
done
finish
