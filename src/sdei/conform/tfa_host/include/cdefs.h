/* Host build of TF-A's SDEI dispatcher: the compiler attributes TF-A's own libc spells as
 * BSD-style macros, on top of the host C library. Written for sdei, not taken from TF-A. */
#ifndef SDEI_HOST_CDEFS_H
#define SDEI_HOST_CDEFS_H
#include <sys/cdefs.h>
#include <stdint.h>

#ifndef __dead2
#define __dead2 __attribute__((__noreturn__))
#endif
#ifndef __packed
#define __packed __attribute__((__packed__))
#endif
#ifndef __used
#define __used __attribute__((__used__))
#endif
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#ifndef __maybe_unused
#define __maybe_unused __attribute__((__unused__))
#endif
#ifndef __aligned
#define __aligned(x) __attribute__((__aligned__(x)))
#endif
#ifndef __section
#define __section(x) __attribute__((__section__(x)))
#endif
#ifndef __deprecated
#define __deprecated __attribute__((__deprecated__))
#endif
#define __init
#define __printflike(fmt, first) __attribute__((__format__(__printf__, fmt, first)))
#ifndef __STRING
#define __STRING(x) #x
#endif
#define __XSTRING(x) __STRING(x)

/* An AArch64 general-purpose register: 64 bits on the host too. */
typedef unsigned long u_register_t;
#endif
