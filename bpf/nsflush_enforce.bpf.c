// SPDX-License-Identifier: GPL-2.0
/* nsflush.bpf.c with the kfunc calls at the reference points (enforce mode). */
#define NSFLUSH_ENFORCE
#include "nsflush.bpf.c"
