build2/variant/obj/lib/found.o: src/lib/found.c src/lib/nsf.h \
 src/lib/found.h src/lib/tracer.h include/nsflush_events.h \
 include/nsflush_kfunc.h src/lib/state.h
