#!/usr/bin/env bash
# make deb on a fresh clone: the packages build; what they hold (the unit,
# man pages, the DKMS source with the package's version in dkms.conf,
# modules-load.d); maintainer scripts are valid shell; and lintian says
# exactly what tests/dist/lintian.expected says (each remaining tag is
# explained in debian/*.lintian-overrides or there).
. "$(dirname "$0")/../lib.sh"
cd "$NSFLUSH_ROOT" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(nsf_version)

# A clone has only what is committed: nothing local can slip in.
git clone -q "$NSFLUSH_ROOT" "$tmp/clone" || { fail "make deb: clone" "git clone failed"; finish; }
if make -C "$tmp/clone" -s deb > "$tmp/deb.log" 2>&1; then
	pass "make deb on a fresh clone"
else
	fail "make deb on a fresh clone" "$(tail -n 5 "$tmp/deb.log" | tr '\n' ' ')"
	finish
fi
d=$tmp/clone/build/deb
tool=$d/nsflush_${version}_amd64.deb dkms=$d/nsflush-dkms_${version}_all.deb
expect_eq "make deb: nsflush and nsflush-dkms of version $version" "yes yes" \
	"$([ -f "$tool" ] && echo yes) $([ -f "$dkms" ] && echo yes)"

has() { dpkg-deb -c "$1" | sed 's/.* \.//' | grep -qx "$2"; }	# DEB PATH
for p in /usr/sbin/nsflushd /usr/sbin/nsflush-audit /usr/sbin/nsflush-flush \
	/lib/systemd/system/nsflushd.service /etc/default/nsflushd \
	/usr/lib/modules-load.d/nsflush.conf /usr/share/man/man8/nsflushd.8.gz \
	/usr/share/man/man8/nsflush-audit.8.gz /usr/share/man/man8/nsflush-flush.8.gz \
	/usr/share/bash-completion/completions/nsflushd \
	/usr/share/nsflush/prometheus/nsflush.rules.yml /usr/share/nsflush/grafana/nsflush.json; do
	has "$tool" "$p" && pass "nsflush holds $p" || fail "nsflush holds $p" "missing"
done
for p in /usr/src/nsflush-$version/dkms.conf /usr/src/nsflush-$version/nsflush.c \
	/usr/src/nsflush-$version/build /usr/src/nsflush-$version/include/nsflush_kfunc.h \
	/usr/lib/modules-load.d/nsflush-dkms.conf; do
	has "$dkms" "$p" && pass "nsflush-dkms holds $p" || fail "nsflush-dkms holds $p" "missing"
done
dpkg-deb -x "$dkms" "$tmp/dkms-root"
expect_eq "nsflush-dkms: dkms.conf's PACKAGE_VERSION is the package's" "PACKAGE_VERSION=\"$version\"" \
	"$(grep '^PACKAGE_VERSION=' "$tmp/dkms-root/usr/src/nsflush-$version/dkms.conf")"
expect_eq "nsflush: conffile /etc/default/nsflushd" "/etc/default/nsflushd" \
	"$(dpkg-deb --ctrl-tarfile "$tool" | tar -xOf - ./conffiles)"
for deb in "$tool" "$dkms"; do
	dpkg-deb -e "$deb" "$tmp/ctl-${deb##*/}"
	for s in "$tmp/ctl-${deb##*/}"/{pre,post}{inst,rm}; do
		[ -f "$s" ] || continue
		sh -n "$s" && pass "${deb##*/} ${s##*/}: valid shell" || fail "${deb##*/} ${s##*/}" "sh -n failed"
	done
done
grep -q 'common.postinst' "$tmp/ctl-${dkms##*/}/postinst" &&
	grep -q 'modprobe nsflush' "$tmp/ctl-${dkms##*/}/postinst"
expect_eq "nsflush-dkms postinst: DKMS builds, then the module is loaded" 0 $?
grep -q 'deb-systemd-helper' "$tmp/ctl-${tool##*/}/postinst"
expect_eq "nsflush postinst: enables and starts nsflushd.service" 0 $?

# lintian, pedantic, info tags and overrides shown; its root warning aside.
(cd "$d" && lintian -I --pedantic --show-overrides "nsflush_${version}_amd64.changes") 2>&1 |
	grep -v '^running with root privileges' > "$tmp/lintian.out"
if diff -u tests/dist/lintian.expected "$tmp/lintian.out" > "$tmp/lintian.diff"; then
	pass "lintian: as tests/dist/lintian.expected ($(grep -c '^[EWIPO]:' "$tmp/lintian.out") tags)"
else
	fail "lintian: differs from tests/dist/lintian.expected" "$(head -n 20 "$tmp/lintian.diff")"
fi
finish
