build2/variant/obj/lib/pins.o: src/lib/pins.c src/lib/nsf.h \
 src/lib/pins.h
