build2/variant/obj/lib/tracer.o: src/lib/tracer.c src/lib/nsf.h \
 src/lib/pins.h src/lib/tracer.h include/nsflush_events.h \
 include/nsflush_kfunc.h build2/variant/nsflush.skel.h \
 build2/variant/nsflush_enforce.skel.h
