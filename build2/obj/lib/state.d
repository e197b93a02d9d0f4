build2/obj/lib/state.o: src/lib/state.c src/lib/nsf.h src/lib/state.h \
 include/nsflush_events.h include/nsflush_kfunc.h
