build2/obj/nsflushd.o: src/nsflushd.c src/lib/nsf.h src/lib/ctl.h \
 src/lib/flusher.h include/nsflush_kfunc.h src/lib/found.h \
 src/lib/tracer.h include/nsflush_events.h include/nsflush_kfunc.h \
 src/lib/pins.h src/lib/state.h src/lib/textfile.h src/lib/tracer.h
