build2/variant/obj/lib/ctl.o: src/lib/ctl.c src/lib/ctl.h src/lib/nsf.h \
 src/lib/state.h include/nsflush_events.h include/nsflush_kfunc.h
