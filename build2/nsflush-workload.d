build2/nsflush-workload: tests/workload/nsflush-workload.c
