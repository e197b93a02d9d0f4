build2/obj/nsflush-flush.o: src/nsflush-flush.c src/lib/nsf.h \
 src/lib/flusher.h include/nsflush_kfunc.h
