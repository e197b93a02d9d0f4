build2/obj/lib/nsf.o: src/lib/nsf.c src/lib/nsf.h
