build2/obj/lib/tracer.o: src/lib/tracer.c src/lib/nsf.h src/lib/pins.h \
 src/lib/tracer.h include/nsflush_events.h include/nsflush_kfunc.h \
 build2/nsflush.skel.h build2/nsflush_enforce.skel.h
