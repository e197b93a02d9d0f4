#!/bin/bash
# tests/workload/test-workload.sh — check nsflush-workload against real VFIO
# in the VM lab (tests/vm/run), one guest boot per configuration.
#
# usage: tests/workload/test-workload.sh [CONFIG...]
#   CONFIG is KERNEL or KERNEL:snoop (VT-d snoop control on: coherent domains).
#   Default: debian-6.12 debian-6.12:snoop debian-6.1 iommufd-6.12
#   iommufd-6.12:snoop
#   Debian kernels run the type1 cases (and check --backend iommufd fails
#   there); iommufd-6.12 (2 edu devices) runs the iommufd cases and one type1.
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
[ ${#configs[@]} -gt 0 ] ||
	configs=(debian-6.12 debian-6.12:snoop debian-6.1 iommufd-6.12 iommufd-6.12:snoop)

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
usage_case backend --backend bogus cc
usage_case defer-attach-type1 --defer-attach map 4M attach
usage_case ioas-alloc-type1 ioas-alloc
usage_case ioas-type1 ioas 0
usage_case hwpt-alloc-type1 hwpt-alloc
usage_case attach-hwpt-type1 attach-hwpt
usage_case hwpt-destroy-type1 hwpt-destroy
usage_case copy-type1 copy 0x100000 4K 0
usage_case close-type1 map 4M close
usage_case ioas-index --backend iommufd ioas-alloc ioas 2
usage_case copy-index --backend iommufd copy 0x100000 4K 1
usage_case copy-args --backend iommufd copy 0x100000 4K
usage_case attach-hwpt-none --backend iommufd attach-hwpt hwpt-alloc
usage_case hwpt-destroy-twice --backend iommufd hwpt-alloc hwpt-destroy hwpt-destroy
usage_case try-alone try
usage_case thp --thp maybe cc
if "$W" --help | grep -q '^Examples:'; then pass help; else fail help "--help lacks examples"; fi
out=$(NSFLUSH_EDU_BDF='' "$W" --device 0000:ff:1f.7 cc 2>"$tmp/err"); rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then pass no-device
else fail no-device "exit $rc, stderr: $(cat "$tmp/err")"; fi
# iommufd is accepted: the same op failure (no such device), not a usage error
out=$(NSFLUSH_EDU_BDF='' "$W" --backend iommufd --defer-attach --device 0000:ff:1f.7 \
	ioas-alloc ioas 1 hwpt-alloc attach-hwpt copy 0x100000 4K 0 close cc 2>"$tmp/err"); rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then pass no-device-iommufd
else fail no-device-iommufd "exit $rc, stderr: $(cat "$tmp/err")"; fi

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
c no-iommufd $W --backend iommufd cc
'

# iommufd-6.12, booted with 2 edu devices (the first is the default device).
# IOVAs as above; IOAS index 0 is the one made at open, 1 the first ioas-alloc.
iommufd_script='
W=$1 WS=$2 I="$1 --backend iommufd"
c() { n=$1; shift; echo "@@begin $n"; "$@" 2>&1; echo "@@end $n rc=$?"; }
c t1-basic  $W cc map 16M 2M dma 0x100000 unmap-all
c basic     $I cc map 256M 2M dma 0x100000 dma 0x100000 0x300000 unmap-all
c static    $WS --backend iommufd --thp on cc map 4M dma 0x100000 unmap-all
c partial   $I map 8M 2M try unmap 0x100000 1M try unmap 0x400000 2M try unmap 0x300000 3M \
               try dma 0x300000 0x700000 dma 0x500000 0x700000 unmap 0x100000 8M \
               try unmap 0x100000 8M unmap-all
c fatal     $I map 4M 2M unmap 0x100000 1M cc
c stale     $I map 4M 2M dma 0x100000 unmap 0x100000 2M try dma 0x100000 0x300000 \
               dma 0x300000 0x301000
c defer     $I --defer-attach map 16M try dma 0x100000 attach cc dma 0x100000 0x200000 unmap-all
c detach    $I map 8M 2M dma 0x100000 detach try dma 0x100000 attach dma 0x100000 map 4M \
               dma 0x900000 attach unmap-all
c hwpt      $I map 4M hwpt-alloc attach-hwpt dma 0x100000 try hwpt-destroy attach \
               dma 0x100000 hwpt-destroy map 4M dma 0x500000 unmap-all
c two-ioas  $I map 4M ioas-alloc map 4M ioas 0 map 2M ioas 1 hwpt-alloc attach-hwpt \
               dma 0x100000 try dma 0x500000 ioas 0 attach dma 0x500000 unmap-all \
               ioas 1 unmap-each
c copy      $I map 4M 2M ioas-alloc map 2M copy 0x100000 4M 0 hwpt-alloc attach-hwpt \
               dma 0x300000 0x100000 dma 0x400000 0x500000 ioas 0 unmap-all \
               dma 0x300000 0x100000 ioas 1 unmap-each
c mapped    $I map 4M ioas-alloc map 2M ioas 0 copy 0x100000 1M 0 exit
c small     $I map 16M 4K unmap-each map 16M 4K unmap 0x1100000 16M
c exit      $I map 64M 2M exit cc
c kill      $I map 16M 4K kill cc
c reopen    $I cc map 4M dma 0x100000
c multi     $I --devices all map 4M dma 0x100000 detach-group 1 dma 0x100000 attach-group 1 \
               hwpt-alloc attach-hwpt dma 0x100000 unmap-all
# close: while the first process pauses after close, a second one must be able
# to bind the device (a cdev binds once: "busy" is the control, without close)
bg() { # NAME CHECKER-ARGS... -- BACKGROUND-ARGS...: checker runs during the pause
	n=$1; shift; chk=
	while [ "$1" != -- ]; do chk="$chk $1"; shift; done; shift
	f=/tmp/bg.$n; : >$f
	"$@" >$f 2>&1 & p=$!
	i=0; while ! grep -q "^pause until" $f && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	echo "@@begin $n-second"; $chk 2>&1; echo "@@end $n-second rc=$?"
	kill -USR1 $p; wait $p; r=$?
	echo "@@begin $n"; cat $f; echo "@@end $n rc=$r"
}
bg busy  $I map 2M -- $I map 8M 2M pause
bg close $I cc map 2M dma 0x100000 -- $I map 8M 2M close try map 2M pause try cc
'

# --- assertion helpers on the case output of config $cfg (in $log) ----
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

check_type1() {
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

	c=no-iommufd
	wantrc $c 1
	count $c "nsflush-workload: .*" 1
	want $c "nsflush-workload: /dev/iommu: No such file or directory \(kernel without CONFIG_IOMMUFD\)"
	verdict $c
}
# first KEY=value on the first line of CASE starting with PREFIX
getf() { body "$1" | awk -v p="$2" -v k="$3=" \
	'index($0,p)==1{for(i=1;i<=NF;i++) if(index($i,k)==1){print substr($i,length(k)+1); exit}}'; }
same() { # A B WHAT: the two values must be equal (and non-empty)
	[ -n "$why" ] && return
	[ -n "$1" ] && [ "$1" = "$2" ] || why="$3: '$1' vs '$2'"
}

check_iommufd() {
	local a h io0 io1 OPENI="open backend=iommufd device=[0-9a-f:.]+ group=$N bar0=mmap edu_id=0x010000ed"

	c=t1-basic  # the built-in type1 still works next to iommufd
	wantrc $c 0
	want $c "open backend=type1 device=[0-9a-f:.]+ group=$N bar0=(mmap|rw) edu_id=0x010000ed"
	want $c "cc_iommu=$snoop"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "unmap-all unmapped=16777216 via=flag_all ns=$N"
	verdict $c

	c=basic
	wantrc $c 0
	want $c "$OPENI dev_id=$N ioas=$N hwpt=$N"
	want $c "cc_iommu=$snoop via=hw_info"
	want $c "map iova=0x100000 size=268435456 chunks=128 chunk=2097152 vaddr=$X ns=$N"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "dma iova=0x100000 dst_iova=0x300000 bytes=4096 ok"
	want $c "unmap-all unmapped=268435456 via=all ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=static
	wantrc $c 0
	want $c "cc_iommu=$snoop via=hw_info"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "unmap-all unmapped=4194304 via=all ns=$N"
	verdict $c

	c=partial   # areas at 0x100000 0x300000 0x500000 0x700000, 2 MiB each
	wantrc $c 0
	want $c "unmap iova=0x100000 size=1048576 error=ENOENT"	# would split an area
	want $c "unmap iova=0x400000 size=2097152 error=ENOENT"	# first area sticks out: nothing
	want $c "unmap iova=0x300000 size=3145728 error=ENOENT"	# 0x300000 goes, 0x500000 sticks out
	want $c "dma iova=0x300000 dst_iova=0x700000 bytes=4096 stale=1 error=mismatch"
	want $c "dma iova=0x500000 dst_iova=0x700000 bytes=4096 ok"
	want $c "unmap iova=0x100000 size=8388608 unmapped=6291456 ns=$N"	# 2 MiB went above
	want $c "unmap iova=0x100000 size=8388608 error=ENOENT"	# nothing left (type1: unmapped=0)
	want $c "unmap-all unmapped=0 via=all ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=fatal
	wantrc $c 1
	want $c "nsflush-workload: unmap iova=0x100000 size=1048576: No such file or directory"
	wantnot $c "cc_iommu=.*"
	wantnot $c "done .*"
	verdict $c

	c=stale
	wantrc $c 0
	want $c "unmap iova=0x100000 size=2097152 unmapped=2097152 ns=$N"
	want $c "dma iova=0x100000 dst_iova=0x300000 bytes=4096 stale=1 error=mismatch"
	want $c "dma iova=0x300000 dst_iova=0x301000 bytes=4096 ok"
	want $c "done mapped=2097152"
	verdict $c

	c=defer     # map before attach: filled into the domain at attach
	wantrc $c 0
	want $c "$OPENI dev_id=$N ioas=$N hwpt=none"
	want $c "map iova=0x100000 size=16777216 chunks=1 chunk=16777216 vaddr=$X ns=$N"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 stale=1 error=mismatch"
	want $c "attach group=$N ioas=$(getf $c open ioas) hwpt=$N was=none"
	want $c "cc_iommu=$snoop via=hw_info"
	want $c "dma iova=0x100000 dst_iova=0x200000 bytes=4096 ok"
	want $c "unmap-all unmapped=16777216 via=all ns=$N"
	verdict $c

	c=detach    # detach blocks the device; the IOAS keeps the mappings
	wantrc $c 0
	h=$(getf $c "attach " hwpt)
	want $c "detach group=$N dropped=0 kept=8388608"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 stale=1 error=mismatch"
	want $c "attach group=$N ioas=$N hwpt=$N was=none"
	count $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok" 2
	want $c "map iova=0x900000 size=4194304 chunks=1 chunk=4194304 vaddr=$X ns=$N"
	want $c "dma iova=0x900000 dst_iova=0x901000 bytes=4096 ok"
	want $c "attach group=$N ioas=$N hwpt=$h was=$h"	# same IOAS: the same automatic HWPT
	want $c "unmap-all unmapped=12582912 via=all ns=$N"
	verdict $c

	c=hwpt      # an explicit HWPT on the IOAS, EBUSY while attached
	wantrc $c 0
	a=$(getf $c open hwpt) io0=$(getf $c open ioas) h=$(getf $c hwpt-alloc hwpt)
	want $c "hwpt-alloc hwpt=$h ioas=$io0"
	[ -z "$why" ] && [ "$h" = "$a" ] && why="hwpt-alloc returned the automatic HWPT $a"
	want $c "attach-hwpt hwpt=$h ioas=$io0 was=$a"
	count $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok" 2
	want $c "hwpt-destroy hwpt=$h error=EBUSY"
	want $c "attach group=$N ioas=$io0 hwpt=$N was=$h"
	want $c "hwpt-destroy hwpt=$h"
	want $c "dma iova=0x500000 dst_iova=0x501000 bytes=4096 ok"
	want $c "unmap-all unmapped=8388608 via=all ns=$N"
	verdict $c

	c=two-ioas  # IOAS 0: 0x100000 4M, 0x500000 2M; IOAS 1: 0x100000 4M
	wantrc $c 0
	io0=$(getf $c open ioas) io1=$(getf $c ioas-alloc ioas)
	want $c "ioas-alloc ioas=$io1 index=1"
	want $c "ioas index=0 ioas=$io0 next=0x500000"
	want $c "ioas index=1 ioas=$io1 next=0x500000"
	want $c "hwpt-alloc hwpt=$N ioas=$io1"
	want $c "attach-hwpt hwpt=$(getf $c hwpt-alloc hwpt) ioas=$io1 was=$(getf $c open hwpt)"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "dma iova=0x500000 dst_iova=0x501000 bytes=4096 stale=1 error=mismatch"
	want $c "attach group=$N ioas=$io0 hwpt=$N was=$(getf $c hwpt-alloc hwpt)"
	want $c "dma iova=0x500000 dst_iova=0x501000 bytes=4096 ok"
	want $c "unmap-all unmapped=6291456 via=all ns=$N"
	want $c "unmap-each count=1 unmapped=4194304 ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=copy      # IOAS 1 gets IOAS 0's pages at 0x300000; DMA through IOAS 1 only
	wantrc $c 0
	io0=$(getf $c open ioas) io1=$(getf $c ioas-alloc ioas)
	want $c "copy src_ioas=$io0 dst_ioas=$io1 iova=0x100000 dst_iova=0x300000 size=4194304 ns=$N"
	want $c "attach-hwpt hwpt=$N ioas=$io1 was=$N"
	count $c "dma iova=0x300000 dst_iova=0x100000 bytes=4096 ok" 2	# also with IOAS 0 empty
	want $c "dma iova=0x400000 dst_iova=0x500000 bytes=4096 ok"
	want $c "unmap-all unmapped=4194304 via=all ns=$N"
	want $c "unmap-each count=3 unmapped=6291456 ns=$N"	# one area per source area
	want $c "done mapped=0"
	verdict $c

	c=mapped    # exit counts every IOAS
	wantrc $c 0
	want $c "copy src_ioas=$N dst_ioas=$N iova=0x100000 dst_iova=0x500000 size=1048576 ns=$N"
	want $c "exit mapped=7340032"
	verdict $c

	c=small
	wantrc $c 0
	want $c "unmap-each count=4096 unmapped=16777216 ns=$N"
	want $c "map iova=0x1100000 size=16777216 chunks=4096 chunk=4096 vaddr=$X ns=$N"
	want $c "unmap iova=0x1100000 size=16777216 unmapped=16777216 ns=$N"
	want $c "done mapped=0"
	verdict $c

	c=exit
	wantrc $c 0
	want $c "exit mapped=67108864"
	wantnot $c "cc_iommu=.*"
	verdict $c

	c=kill
	wantrc $c 137
	want $c "kill mapped=16777216"
	wantnot $c "cc_iommu=.*"
	verdict $c

	c=reopen    # the release paths above left the device bindable
	wantrc $c 0
	want $c "cc_iommu=$snoop via=hw_info"
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	want $c "done mapped=4194304"
	verdict $c

	c=multi     # two devices on one IOAS share the automatic HWPT
	wantrc $c 0
	h=$(getf $c open hwpt)
	want $c "open index=1 device=[0-9a-f:.]+ group=$N dev_id=$N hwpt=$h"
	want $c "detach-group index=1 group=$N dropped=0 attached=1"
	count $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok" 3
	want $c "attach-group index=1 group=$N attached=2 hwpt=$h"
	want $c "attach-hwpt hwpt=$N ioas=$N was=$h"
	want $c "unmap-all unmapped=4194304 via=all ns=$N"
	verdict $c

	c=busy-second   # control: the device is bound to the paused process
	wantrc $c 1
	count $c "nsflush-workload: .*" 1
	verdict $c
	c=busy
	wantrc $c 0
	want $c "done mapped=8388608"
	verdict $c

	c=close-second  # close released the device while its process lives on
	wantrc $c 0
	want $c "dma iova=0x100000 dst_iova=0x101000 bytes=4096 ok"
	verdict $c
	c=close
	wantrc $c 0
	want $c "close dropped=8388608"
	want $c "map iova=0x900000 size=2097152 chunks=1 failed_at=0x900000 error=EBADF"
	want $c "pause until=SIGUSR1"
	want $c "cc error=EBADF"
	want $c "done mapped=0"
	verdict $c
}

for cfg in "${configs[@]}"; do
	kernel=${cfg%%:*} snoop=0 sflag=()
	case $cfg in *:snoop) snoop=1 sflag=(--snoop-control) ;; esac
	case $kernel in
	iommufd-*) suite=iommufd script=$iommufd_script sflag+=(--edu 2) ;;
	*) suite=type1 script=$guest_script ;;
	esac
	log=$tmp/$kernel-$snoop.log
	t0=$(date +%s)
	"$RUN" --kernel "$kernel" "${sflag[@]}" --timeout 600 -- \
		sh -c "$script" sh "$W" "$WS" >"$log" 2>&1
	rc=$? t=$(( $(date +%s) - t0 ))
	tr -d '\r' <"$log" >"$log.clean" && mv "$log.clean" "$log"
	echo "# boot $cfg: ${t}s (run exit $rc)"
	if { [ $rc -eq 125 ] || [ $rc -eq 127 ]; } && ! grep -q '^@@begin' "$log"; then
		echo "SKIP $cfg: VM lab unavailable: $(grep 'tests/vm/run:' "$log" | tail -n1)"
		nskip=$((nskip + 1))
		continue
	fi

	case $suite in iommufd) check_iommufd ;; *) check_type1 ;; esac

	if [ $rc -ne 0 ]; then
		fail "boot[$cfg]" "tests/vm/run exited $rc"
		tail -n 20 "$log" | sed 's/^/#   /'
	fi
done

echo "# workload: $npass passed, $nfail failed, $nskip configs skipped"
[ $nfail -eq 0 ]
