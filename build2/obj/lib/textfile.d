build2/obj/lib/textfile.o: src/lib/textfile.c src/lib/nsf.h \
 src/lib/state.h include/nsflush_events.h include/nsflush_kfunc.h \
 src/lib/textfile.h
