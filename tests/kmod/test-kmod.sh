#!/usr/bin/env bash
# The helper module on each lab kernel, one boot each:
# - kmod/tests/guest-check: the module alone (BTF, counters, errors and
#   accounting through its test interface, end of RAM, 1 GiB, uncached and
#   WC pages, unload); its PASS/FAIL lines are forwarded with the kernel name;
# - tests/kmod/guest-kfunc: the real path, a SYSCALL BPF program calling
#   the kfunc: it flushes a real page and the counters agree; bad arguments
#   get their errno with nothing flushed; the VGA hole is skipped, never
#   flushed; a whole-RAM call is flushed whole.
. "$(dirname "$0")/../lib.sh"

for k in $(lab_kernels kfunc); do
	out=$(vm "$k" -- sh -c 'kmod/tests/guest-check; tests/kmod/guest-kfunc' 2>&1)
	rc=$?
	echo "$out" | sed -n "s/^\(PASS\|FAIL\|SKIP\) /\1 $k module: /p"
	echo "$out" | grep -E '^[a-z]+: ' | sed 's/^/  /'
	line() { echo "$out" | grep "^$1: " | head -n 1; }
	if [ "$rc" -ne 0 ]; then fail "$k kfunc: guest" "exited $rc"; continue; fi

	expect_eq "$k module loads" 0 "$(line load | field rc)"
	expect_eq "$k module BTF in /sys/kernel/btf" 1 "$(line btf | field present)"

	self=$(line self)
	expect_eq "$k kfunc flushes a real page" "0 4096" \
		"$(field ret <<<"$self") $(field flushed_bytes <<<"$self")"

	expect_eq "$k len 0 is EINVAL" "1 -22" "$(line einval | field rc) $(line einval | field ret)"
	expect_eq "$k wrap-around is EOVERFLOW" "1 -75" \
		"$(line eoverflow | field rc) $(line eoverflow | field ret)"
	expect_eq "$k beyond RAM is ERANGE" "1 -34" "$(line erange | field rc) $(line erange | field ret)"

	vga=$(line vga)
	skipped=0
	for r in no_page reserved not_mapped uncached; do
		skipped=$((skipped + $(field "skipped_${r}_bytes" <<<"$vga")))
	done
	expect_eq "$k VGA hole skipped, not flushed" "0 0 131072" \
		"$(field ret <<<"$vga") $(field flushed_bytes <<<"$vga") $skipped"

	# Between the two snapshots: one page flushed, three rejected calls,
	# the VGA range skipped. The counters must say exactly that.
	b=$(line before) a=$(line after)
	delta() { echo $(( $(field "$1" <<<"$a") - $(field "$1" <<<"$b") )); }
	expect_eq "$k counters: flushed bytes" 4096 "$(delta flushed_bytes)"
	expect_eq "$k counters: rejected calls" 3 "$(delta errors)"
	expect_eq "$k counters: skipped bytes" 131072 \
		"$(( $(delta skipped_no_page_bytes) + $(delta skipped_reserved_bytes) + \
		     $(delta skipped_not_mapped_bytes) + $(delta skipped_uncached_bytes) ))"

	all=$(line allram)
	total=$(field flushed_bytes <<<"$all")
	for r in no_page reserved not_mapped uncached; do
		total=$((total + $(field "skipped_${r}_bytes" <<<"$all")))
	done
	expect_eq "$k whole RAM in one call: flushed + skipped = len" \
		"0 $(field len <<<"$all")" "$(field ret <<<"$all") $total"
	if [ "$(field flushed_bytes <<<"$all")" -ge $((512 << 20)) ] 2>/dev/null; then
		pass "$k whole RAM in one call: flushed $(field flushed_bytes <<<"$all") bytes"
	else
		fail "$k whole RAM in one call" "flushed only $(field flushed_bytes <<<"$all") bytes"
	fi
done
finish
