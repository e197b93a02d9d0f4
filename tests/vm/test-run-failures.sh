#!/bin/bash
# A guest panic and a timeout are reported as such, with distinct statuses.
. "$(dirname "$0")/../lib.sh"
K=${NSFLUSH_VM_TEST_KERNEL:-debian-6.12}
err=$(mktemp); trap 'rm -f "$err"' EXIT

vm "$K" -- sh -c 'echo c >/proc/sysrq-trigger' >/dev/null 2>"$err"
rc=$?
if [ $rc = 126 ] && grep -qx 'tests/vm/run: guest kernel panicked' "$err"; then pass run-panic
else fail run-panic "status $rc, stderr: $(tail -n1 "$err")"; fi

t0=$SECONDS
vm "$K" --timeout 5 -- sleep 100 >/dev/null 2>"$err"
rc=$? t=$((SECONDS - t0))
if [ $rc = 124 ] && grep -qx 'tests/vm/run: timeout after 5 s' "$err" && [ $t -lt 30 ]; then
	pass run-timeout
else fail run-timeout "status $rc after $t s, stderr: $(tail -n1 "$err")"; fi

# --system's options: what cannot go together is refused before booting.
for c in "--system --kernel $K" "--disk /tmp/x.qcow2 --kernel $K"; do
	# shellcheck disable=SC2086
	"$NSFLUSH_ROOT/tests/vm/run" $c -- true >/dev/null 2>"$err"
	rc=$?
	if [ $rc = 125 ] && [ "$(wc -l < "$err")" = 1 ]; then pass "run $c: refused, one line: $(cat "$err")"
	else fail "run $c refused" "status $rc, stderr: $(cat "$err")"; fi
done
finish
