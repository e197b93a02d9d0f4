build2/obj/nsflush-audit.o: src/nsflush-audit.c src/lib/ctl.h \
 src/lib/nsf.h src/lib/flusher.h include/nsflush_kfunc.h src/lib/tracer.h \
 include/nsflush_events.h include/nsflush_kfunc.h
