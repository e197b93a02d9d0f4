build2/variant/obj/lib/flusher.o: src/lib/flusher.c src/lib/nsf.h \
 src/lib/flusher.h include/nsflush_kfunc.h build2/variant/flush.skel.h
