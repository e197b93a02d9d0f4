# shellcheck shell=bash
# Sourced by the guest-side scenario scripts (guest-type1, guest-iommufd):
# start/stop nsflushd, run one workload process as a VMM and print its
# report on one line:
#   scenario NAME mode=MODE pid=PID rc=AUDIT_EXIT module_flushed=DELTA json=<report>
# plus the workload's own lines prefixed "wl NAME: ". The host asserts.
sock=/tmp/nsflushd.sock

module_flushed() { cat /sys/kernel/nsflush/flushed_bytes 2>/dev/null || echo 0; }

# Waiting takes no fork here: under TCG each grep or sleep started while
# polling is an exec on the guest's one vCPU, taken from the daemon being
# waited for (polled so, nsflushd's start took 2-3 times as long on 7.3).
# nap S: sleep S seconds (a read that times out on a FIFO nobody writes).
[ -p /tmp/.guest-nap ] || mkfifo /tmp/.guest-nap
exec {nap_fd}<>/tmp/.guest-nap
nap() { read -r -t "$1" -u "$nap_fd" _ || :; }

# file_has FILE ERE [N]: FILE has N (1) lines matching ERE
file_has() {
	local line n=0
	[ -r "$1" ] || return 1
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ $2 ]] && n=$((n + 1)) && [ "$n" -ge "${3:-1}" ] && return 0
	done < "$1"
	return 1
}

# wait_until S CMD...: until CMD (a shell function or builtin) succeeds, for
# S seconds at 0.1 s steps at least
wait_until() {
	local steps=$(($1 * 10))
	shift
	while [ "$steps" -gt 0 ]; do
		"$@" && return 0
		nap 0.1
		steps=$((steps - 1))
	done
	return 1
}

# started LOG: the daemon wrote ready to LOG, or died (then 1 is false)
started() { file_has "$1" ready || ! kill -0 "$daemon" 2>/dev/null; }

start_daemon() {	# MODE [extra args]
	local mode=$1
	shift
	rm -f /tmp/nsflushd.log
	nsflushd --mode "$mode" --socket "$sock" --textfile-dir /tmp --textfile-interval 1 "$@" \
		> /tmp/nsflushd.log 2>&1 &
	daemon=$!
	wait_until 60 started /tmp/nsflushd.log && file_has /tmp/nsflushd.log ready && return 0
	echo "guest: nsflushd --mode $mode did not start:"; cat /tmp/nsflushd.log
	return 1
}

# wait_line FILE ERE [N]: until the workload printed N (1) such lines (60 s)
wait_line() {
	wait_until 60 file_has "$1" "$2" "${3:-1}" && return 0
	echo "guest: no '$2' in $1"; return 1
}

# Stops the daemon and detaches what it pinned: the next MODE starts from
# nothing, as these scenarios expect (tests/nsflushd/guest-lifecycle keeps it).
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
