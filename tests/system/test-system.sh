#!/usr/bin/env bash
# The system lab (tests/vm/run --system): the packages from `make deb` on a
# real Debian 12 with systemd as PID 1 and Debian's 6.1 kernel. dpkg -i
# builds the module with DKMS; the service comes up enforcing, says so in
# its status, serves node_exporter; HUP, stop, start and a bad option in
# /etc/default/nsflushd behave.
# With NSFLUSH_SYSTEM_FULL=1 (make check-system; about 9 min more under
# TCG, so not in make check): a 6.12 kernel installed from local .debs the
# way apt does gets the module by DKMS autoinstall; after a reboot into it
# the service enforces again; an upgrade of nsflush-dkms while it enforces
# builds the new module, keeps the loaded one and says why, and the daemon
# stays up.
. "$(dirname "$0")/../lib.sh"
cd "$NSFLUSH_ROOT" || exit 2
debs=$NSFLUSH_ROOT/build/deb
version=$(nsf_version)
if [ ! -f "$debs/nsflush_${version}_amd64.deb" ] || [ ! -f "$debs/nsflush-dkms_${version}_all.deb" ]; then
	fail "system: packages" "no build/deb/*.deb of $version (make deb)"
	finish
fi
# The guest sees the checkout only: what it installs goes there.
tmp=$(mktemp -d "$NSFLUSH_ROOT/build/tests/system.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
full=${NSFLUSH_SYSTEM_FULL:-0}
kdir=
if [ "$full" = 1 ]; then
	kdebs=$(tests/vm/kernel debs debian-6.12) || { fail "system: 6.12 packages" "cannot fetch"; finish; }
	mkdir "$tmp/kdebs" && cp "$kdebs"/*.deb "$tmp/kdebs/"
	kdir=$tmp/kdebs
	newk=$(basename "$(ls "$tmp"/kdebs/linux-image-*.deb)" | sed 's/^linux-image-\([^_]*\)_.*/\1/')
fi

# The serial console ends lines with CR.
out=$(tests/vm/run --system --disk "$tmp/disk.qcow2" --timeout 2400 -- \
	tests/system/guest-install "$debs" "$kdir" 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
# get WHAT KEY: KEY's value on the last "sys: WHAT ..." line (WHAT "x=":
# the line starts with x=)
get() {
	case $1 in *=) echo "$out" | grep "^sys: $1" ;; *) echo "$out" | grep "^sys: $1 " ;; esac |
		tail -n 1 | field "$2"
}
[ $rc = 0 ] || { fail "system: first boot" "exit $rc"; echo "$out" | tail -n 30 | sed 's/^/  /'; }
echo "$out" | grep '^sys: ' | sed 's/^/  /'

expect_eq "system: Debian 12 with systemd as PID 1 on 6.1" "$(cat "$(tests/vm/system-image 2>/dev/null)/kver") systemd" \
	"$(get kernel= kernel) $(get kernel= pid1)"
expect_eq "system: dpkg -i nsflush nsflush-dkms: exit 0" 0 "$(get dpkg-i rc)"
expect_eq "system: DKMS built and installed the module for the running kernel" \
	"nsflush/${version}$(get kernel= kernel)x86_64=installed" "$(echo "$out" | sed -n 's/^sys: dkms \([^ ]*\) .*/\1/p')"
expect_eq "system: the module is loaded, with BTF, of the package's version" "1 $version" \
	"$(get module-btf= module-btf) $(get module-btf= module-version)"
expect_eq "system: nsflushd.service active and enabled" "active enabled" \
	"$(get active= active) $(get active= enabled)"
st=$(get status-text= status-text)
case $st in
enforce_mode,_backends_vfio-type1*) pass "system: StatusText names the mode and backends: ${st//_/ }" ;;
*) fail "system: StatusText names the mode and backends" "got '${st//_/ }'" ;;
esac
expect_eq "system: nsflush-audit --check exits 0" 0 "$(get check rc)"
expect_eq "system: the workload's 64 MiB audited in enforce: exit 0" 0 "$(get audit rc)"
expect_eq "system: node_exporter (Debian's service, default config) serves nsflush_up 1, the mapped bytes, enforcing, the module" \
	"1 67108864 0 1 1" \
	"$(get scrape up) $(get scrape mapped) $(get scrape unflushed) $(get scrape enforcing) $(get scrape module)"
expect_eq "system: SIGHUP to the unit: still active, logged, no half-written textfile left" \
	"active 1 nsflush.prom," "$(get hup active) $(get hup logged) $(get hup textfile-dir)"
expect_eq "system: systemctl stop: inactive, node_exporter serves nsflush_up 0, hooks stay pinned" \
	"inactive 0 yes" "$(get stop active) $(get stop up) $([ "$(get stop pins)" -gt 0 ] 2>/dev/null && echo yes)"
expect_eq "system: systemctl start: adopts the pinned hooks" "active 1" "$(get start active) $(get start adopted)"
expect_eq "system: bad option in /etc/default/nsflushd: failed, exit 2, no restart" \
	"failed exit-code 2 0" \
	"$(get bad-option active) $(get bad-option result) $(get bad-option status) $(get bad-option restarts)"
expect_eq "system: ... one journal line from nsflushd, at priority err (3)" "1 3" \
	"$(get bad-option-err-lines= bad-option-err-lines) $(get bad-option-err-lines= priority)"
expect_eq "system: ... the line" "nsflushd: unknown option --bogus-option (see --help)" \
	"$(echo "$out" | sed -n 's/^bad-option-err: //p' | head -n 1)"
expect_eq "system: defaults restored: active again" active "$(get restored active)"
if [ "$full" != 1 ]; then
	skip "system: a new kernel by apt, DKMS autoinstall, reboot; nsflush-dkms upgraded while enforcing" \
		"about 9 min more under TCG: make check-system"
	finish
fi
expect_eq "system: $newk installed from local .debs: exit 0" 0 "$(get kernel-install rc)"
expect_eq "system: DKMS autoinstall built the module for $newk" "$newk 1" \
	"$(get newkernel= newkernel) $(get newkernel= dkms-new)"

# The reboot: the disk as the first boot left it, into the newest kernel.
# nsflush-dkms one version up, to upgrade while nsflushd enforces.
next=$version.1
git clone -q "$NSFLUSH_ROOT" "$tmp/next" &&
	sed -i "1s/(\([^)]*\))/($next)/" "$tmp/next/debian/changelog" &&
	git -C "$tmp/next" -c user.name=t -c user.email=t@t commit -qam "$next" &&
	make -C "$tmp/next" -s deb > "$tmp/next.log" 2>&1 && mkdir "$tmp/upgrade" &&
	cp "$tmp/next/build/deb/nsflush-dkms_${next}_all.deb" "$tmp/upgrade/" ||
	fail "system: nsflush-dkms $next" "$(tail -n 3 "$tmp/next.log")"
rm -rf "$tmp/next"
out=$(tests/vm/run --system --disk "$tmp/disk.qcow2" --timeout 1500 -- \
	tests/system/guest-reboot "$tmp/upgrade" 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
[ $rc = 0 ] || { fail "system: second boot" "exit $rc"; echo "$out" | tail -n 30 | sed 's/^/  /'; }
echo "$out" | grep '^sys: ' | sed 's/^/  /'
expect_eq "system: rebooted into $newk: nsflushd active and enforcing" "$newk active 1" \
	"$(get kernel= kernel) $(get kernel= active) $(get kernel= enforcing)"
expect_eq "system: the DKMS module of $newk is loaded" \
	"$version /lib/modules/$newk/updates/dkms/nsflush.ko" \
	"$(get module-version= module-version) $(get module-version= module-file | sed 's/\.\(xz\|zst\|gz\)$//')"
expect_eq "system: on $newk: --check 0, a workload's audit 0 in enforce" "0 0 16777216" \
	"$(get check rc) $(get audit rc) $(get audit mapped)"
expect_eq "system: nsflush-dkms $next installed while enforcing: exit 0, the daemon still up and enforcing" \
	"0 active 1" "$(get upgrade rc) $(get upgrade active) $(get upgrade enforcing)"
expect_eq "system: ... DKMS built $next, the loaded module stays $version" \
	"$next $version" "$(get upgrade installed) $(get upgrade loaded)"
expect_eq "system: ... the package says why, the textfile shows the loaded version" \
	"1 $version" "$(get upgrade said) $(get upgrade metric-version)"
finish
