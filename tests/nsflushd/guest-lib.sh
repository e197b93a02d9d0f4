# shellcheck shell=bash
# Sourced by the guest-side scenario scripts (guest-type1, guest-iommufd):
# start/stop nsflushd, run one workload process as a VMM and print its
# report on one line:
#   scenario NAME mode=MODE pid=PID rc=AUDIT_EXIT module_flushed=DELTA json=<report>
# plus the workload's own lines prefixed "wl NAME: ". The host asserts.
sock=/tmp/nsflushd.sock

module_flushed() { cat /sys/kernel/nsflush/flushed_bytes 2>/dev/null || echo 0; }

start_daemon() {	# MODE [extra args]
	local mode=$1
	shift
	rm -f /tmp/nsflushd.log
	nsflushd --mode "$mode" --socket "$sock" --textfile-dir /tmp --textfile-interval 1 "$@" \
		> /tmp/nsflushd.log 2>&1 &
	daemon=$!
	for _ in $(seq 300); do
		grep -q 'ready' /tmp/nsflushd.log && return 0
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.1
	done
	echo "guest: nsflushd --mode $mode did not start:"; cat /tmp/nsflushd.log
	return 1
}

# Stops the daemon and detaches what it pinned: the next MODE starts from
# nothing, as these scenarios expect (tests/nsflushd/guest-lifecycle keeps it).
# wait_line FILE REGEX: until the workload printed it (60 s)
wait_line() {
	for _ in $(seq 600); do
		grep -q "$2" "$1" && return 0
		sleep 0.1
	done
	echo "guest: no '$2' in $1"; return 1
}

stop_daemon() {	# MODE
	kill -TERM "$daemon" 2>/dev/null
	wait "$daemon"
	echo "daemon mode=$1 rc=$?"
	nsflushd --unload >> /tmp/nsflushd.log 2>&1
	sed 's/^/daemon-log: /' /tmp/nsflushd.log
}

scenario() {	# NAME MODE WORKLOAD-ARGS...
	local name=$1 mode=$2 before out pid rc json
	shift 2
	before=$(module_flushed)
	out=$(nsflush-workload "$@" 2>&1)
	echo "$out" | sed "s/^/wl $name: /"
	pid=$(echo "$out" | sed -n 's/^pid=\([0-9]*\)$/\1/p')
	json=$(nsflush-audit --socket "$sock" --pid "$pid" --json 2>&1)
	rc=$?
	echo "scenario $name mode=$mode pid=$pid rc=$rc module_flushed=$(( $(module_flushed) - before )) json=$(echo "$json" | jq -c . 2>/dev/null || echo "\"$json\"")"
}
