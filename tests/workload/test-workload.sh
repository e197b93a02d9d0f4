#!/bin/bash
# tests/workload/test-workload.sh — check nsflush-workload against real VFIO
# in the VM lab (tests/vm/run), one guest boot per configuration.
#
# usage: tests/workload/test-workload.sh [CONFIG...]
#   CONFIG is KERNEL or KERNEL:snoop (VT-d snoop control on: coherent domains).
#   Default: debian-6.12 debian-6.12:snoop debian-6.1
#
# Needs build/nsflush-workload and build/static/nsflush-workload (make).
# Prints "PASS name[config]" / "FAIL name[config]: why" per case, "SKIP
# config: why" when the lab cannot boot (tests/run counts these lines), and a
# closing count. Exit status: 1 if any check failed, else 0.
# Env: NSFLUSH_VM_RUN (default <checkout>/tests/vm/run), KEEP_LOGS=1.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
W=$root/build/nsflush-workload
WS=$root/build/static/nsflush-workload
RUN=${NSFLUSH_VM_RUN:-$root/tests/vm/run}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(debian-6.12 debian-6.12:snoop debian-6.1)

npass=0 nfail=0 nskip=0
tmp=$(mktemp -d /tmp/test-workload.XXXXXX)
[ "${KEEP_LOGS:-0}" = 1 ] && echo "# logs in $tmp" || trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }

for b in "$W" "$WS"; do
	if [ ! -x "$b" ]; then
		fail build "$b missing (run make)"
		echo "# workload: $npass passed, $nfail failed"
		exit 1
	fi
done

# ---------------------------------------------------------------------------
# Host-side: argument handling needs no VFIO.
# ---------------------------------------------------------------------------
usage_case() { # NAME ARGS... : must exit 2 with exactly one stderr line, no stdout
	local name=$1; shift
	local out err rc
	out=$("$W" "$@" 2>"$tmp/err"); rc=$?
	err=$(cat "$tmp/err")
	if [ $rc -ne 2 ]; then fail "usage-$name" "exit $rc, want 2"
	elif [ -n "$out" ]; then fail "usage-$name" "stdout not empty: $out"
	elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ $err != nsflush-workload:* ]]; then
		fail "usage-$name" "want one 'nsflush-workload: ...' line, got: $err"
	else pass "usage-$name"; fi
}
usage_case unknown-op bogus
usage_case missing-arg unmap 0x100000
usage_case bad-size map 3K
usage_case bad-chunk map 4M 3M
usage_case bad-number map 12Q
usage_case overflow map 99999999999999999999999
usage_case dma-overlap dma 0x100000 0x100800
usage_case dma-too-big dma 0x100000 0x200000 8K
usage_case backend --backend iommufd cc
usage_case try-alone try
usage_case thp --thp maybe cc
if "$W" --help | grep -q '^Examples:'; then pass help; else fail help "--help lacks examples"; fi
out=$(NSFLUSH_EDU_BDF= "$W" --device 0000:ff:1f.7 cc 2>"$tmp/err"); rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then pass no-device
else fail no-device "exit $rc, stderr: $(cat "$tmp/err")"; fi

# ---------------------------------------------------------------------------
# Guest-side: one boot per config runs every case; output between markers.
# IOVAs: maps start at 0x100000 and follow each other.
# ---------------------------------------------------------------------------
guest_script='
W=$1 WS=$2
c() { n=$1; shift; echo "@@begin $n"; "$@" 2>&1; echo "@@end $n rc=$?"; }
c basic     $W cc map 256M 2M dma 0x100000 dma 0x100000 0x300000 unmap-all
c static    $WS --thp on cc map 4M dma 0x100000 unmap-all
c partial   $W map 8M 2M try unmap 0x100000 1M unmap 0x300000 2M try unmap 0x400000 2M \
               try dma 0x300000 0x500000 dma 0x500000 0x700000 unmap 0x100000 8M unmap 0x100000 8M
c fatal     $W map 4M 2M unmap 0x100000 1M cc
c exit      $W map 64M 2M exit cc
c kill      $W map 32M 4K kill cc
c reopen    $W cc map 4M dma 0x100000
c detach    $W map 8M 2M dma 0x100000 detach attach cc try dma 0x100000 map 4M dma 0x900000 \
               unmap 0x100000 8M unmap-all
c small     $W map 16M 4K unmap-each map 16M 4K unmap 0x1100000 16M
c big       $W map 256M unmap 0x100000 256M
c dma-range $W map 256M dma 0xfffe000 try dma 0xffff000 try dma 0x20000000
c misc      $W --thp off --bar-rw --iova-base 0x4000000 map 2M iova 0x2000000 map 2M hold 0.2 dma 0x2000000 0x4000000
c quiet     $W --quiet cc map 2M dma 0x100000 unmap-all
'

for cfg in "${configs[@]}"; do
	kernel=${cfg%%:*} snoop=0 sflag=()
	case $cfg in *:snoop) snoop=1 sflag=(--snoop-control) ;; esac
	log=$tmp/$kernel-$snoop.log
	t0=$(date +%s)
	"$RUN" --kernel "$kernel" "${sflag[@]}" --timeout 600 -- \
		sh -c "$guest_script" sh "$W" "$WS" >"$log" 2>&1
	rc=$? t=$(( $(date +%s) - t0 ))
	tr -d '\r' <"$log" >"$log.clean" && mv "$log.clean" "$log"
	echo "# boot $cfg: ${t}s (run exit $rc)"
	if { [ $rc -eq 125 ] || [ $rc -eq 127 ]; } && ! grep -q '^@@begin' "$log"; then
		echo "SKIP $cfg: VM lab unavailable: $(grep 'tests/vm/run:' "$log" | tail -n1)"
		nskip=$((nskip + 1))
		continue
	fi

	# --- assertion helpers on the case output --------------------------
	body() { awk -v b="@@begin $1" -v e="@@end $1 rc=" \
		'$0==b{f=1;next} f&&index($0,e)==1{f=0} f' "$log"; }
	rcof() { sed -n "s/^@@end $1 rc=//p" "$log"; }
	why=
	want() { # CASE ERE: a whole line must match
		[ -n "$why" ] && return
		body "$1" | grep -Eqx -- "$2" || why="no line matching '$2'"
	}
	wantnot() {
		[ -n "$why" ] && return
		body "$1" | grep -Eqx -- "$2" && why="unexpected line matching '$2'"
	}
	count() { # CASE ERE N
		[ -n "$why" ] && return
		local n; n=$(body "$1" | grep -Ecx -- "$2")
		[ "$n" -eq "$3" ] || why="$n lines matching '$2', want $3"
	}
	wantrc() {
		[ -n "$why" ] && return
		local r; r=$(rcof "$1")
		[ "$r" = "$2" ] || why="exit ${r:-<none: case did not finish>}, want $2"
	}
	verdict() {
		if [ -n "$why" ]; then
			fail "$1[$cfg]" "$why"
			body "$1" | sed 's/^/#   /' | head -n 20
		else pass "$1[$cfg]"; fi
		why=
	}
	X='0x[0-9a-f]+' N='[0-9]+'

	c=basic
	wantrc $c 0
	want $c "pid=$N"
	want $c "open backend=type1 device=[0-9a-f:.]+ group=$N bar0=(mmap|rw) edu_id=0x010000ed"
	want $c "cc_iommu=$snoop"
	want $c "map iova=0x100000 size=268435456 chunks=128 chunk=2097152 vaddr=$X ns=$N"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "dma iova=0x100000 dst_iova=0x300000 bytes=4096 ok"
	want $c "unmap-all unmapped=268435456 via=flag_all ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=static
	wantrc $c 0
	want $c "cc_iommu=$snoop"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "unmap-all unmapped=4194304 via=flag_all ns=$N"
	verdict $c

	c=partial   # chunks at 0x100000 0x300000 0x500000 0x700000, 2 MiB each
	wantrc $c 0
	want $c "map iova=0x100000 size=8388608 chunks=4 chunk=2097152 vaddr=$X ns=$N"
	want $c "unmap iova=0x100000 size=1048576 error=EINVAL"          # bisects a mapping
	want $c "unmap iova=0x300000 size=2097152 unmapped=2097152 ns=$N"
	want $c "unmap iova=0x400000 size=2097152 error=EINVAL"          # hole + half a mapping
	want $c "dma iova=0x300000 dst_iova=0x500000 bytes=4096 stale=1 error=mismatch"
	want $c "dma iova=0x500000 dst_iova=0x700000 bytes=4096 ok"
	count $c "unmap iova=0x100000 size=8388608 unmapped=6291456 ns=$N" 1
	count $c "unmap iova=0x100000 size=8388608 unmapped=0 ns=$N" 1
	want $c "done mapped=0"
	verdict $c

	c=fatal
	wantrc $c 1
	want $c "nsflush-workload: unmap iova=0x100000 size=1048576: Invalid argument"
	wantnot $c "cc_iommu=.*"
	wantnot $c "done .*"
	verdict $c

	c=exit
	wantrc $c 0
	want $c "exit mapped=67108864"
	wantnot $c "cc_iommu=.*"
	verdict $c

	c=kill
	wantrc $c 137
	want $c "map iova=0x100000 size=33554432 chunks=8192 chunk=4096 vaddr=$X ns=$N"
	want $c "kill mapped=33554432"
	wantnot $c "cc_iommu=.*"
	verdict $c

	c=reopen    # the release paths above left the device usable
	wantrc $c 0
	want $c "cc_iommu=$snoop"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "done mapped=4194304"
	verdict $c

	c=detach
	wantrc $c 0
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "detach group=$N dropped=8388608"
	want $c "attach group=$N"
	want $c "cc_iommu=$snoop"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 stale=1 error=mismatch"
	want $c "map iova=0x900000 size=4194304 chunks=1 chunk=4194304 vaddr=$X ns=$N"
	want $c "dma iova=0x900000 dst_iova=0x901000 bytes=4096 ok"
	want $c "unmap iova=0x100000 size=8388608 unmapped=0 ns=$N"
	want $c "unmap-all unmapped=4194304 via=flag_all ns=$N"
	verdict $c

	c=small
	wantrc $c 0
	want $c "map iova=0x100000 size=16777216 chunks=4096 chunk=4096 vaddr=$X ns=$N"
	want $c "unmap-each count=4096 unmapped=16777216 ns=$N"
	want $c "map iova=0x1100000 size=16777216 chunks=4096 chunk=4096 vaddr=$X ns=$N"
	want $c "unmap iova=0x1100000 size=16777216 unmapped=16777216 ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=big
	wantrc $c 0
	want $c "map iova=0x100000 size=268435456 chunks=1 chunk=268435456 vaddr=$X ns=$N"
	want $c "unmap iova=0x100000 size=268435456 unmapped=268435456 ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=dma-range # edu DMA is limited to 28-bit addresses
	wantrc $c 0
	want $c "dma iova=0xfffe000 dst_iova=0xffff000 bytes=4096 ok"
	want $c "dma iova=0xffff000 dst_iova=0x10000000 bytes=4096 error=ERANGE"
	want $c "dma iova=0x20000000 dst_iova=0x20001000 bytes=4096 error=ERANGE"
	verdict $c

	c=misc
	wantrc $c 0
	want $c "map iova=0x4000000 size=2097152 chunks=1 chunk=2097152 vaddr=$X ns=$N"
	want $c "open backend=type1 device=[0-9a-f:.]+ group=$N bar0=rw edu_id=0x010000ed"
	want $c "iova next=0x2000000"
	want $c "map iova=0x2000000 size=2097152 chunks=1 chunk=2097152 vaddr=$X ns=$N"
	want $c "hold seconds=0.2"
	want $c "dma iova=0x2000000 dst_iova=0x4000000 bytes=4096 ok"
	want $c "done mapped=4194304"
	verdict $c

	c=quiet
	wantrc $c 0
	[ -z "$(body $c)" ] || why="stdout not empty"
	verdict $c

	if [ $rc -ne 0 ]; then
		fail "boot[$cfg]" "tests/vm/run exited $rc"
		tail -n 20 "$log" | sed 's/^/#   /'
	fi
done

echo "# workload: $npass passed, $nfail failed, $nskip configs skipped"
[ $nfail -eq 0 ]
