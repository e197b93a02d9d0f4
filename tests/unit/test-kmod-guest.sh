#!/bin/bash
# The helper module on each lab kernel (boots the VM lab, ~20 s a kernel):
# kmod/tests/guest-check in a guest, its PASS/FAIL lines prefixed with the
# kernel's name. Needs build/kmod/KVER/nsflush.ko (`make kmods`).
# (A VM test in tests/unit/ only because kmod's owner owns this folder.)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
rc=0
for k in ${LAB_KERNELS:-debian-6.12 debian-6.1}; do
	out=$(tests/vm/run --kernel "$k" -- kmod/tests/guest-check 2>&1)
	st=$?
	printf '%s\n' "$out" | tr -d '\r' | sed -n "s/^\(PASS\|FAIL\|SKIP\) /\1 $k: /p"
	if [ $st -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 20 >&2
		printf '%s\n' "$out" | grep -q '^FAIL ' ||
			echo "FAIL $k: tests/vm/run exited with status $st"
		rc=1
	fi
done
exit $rc
