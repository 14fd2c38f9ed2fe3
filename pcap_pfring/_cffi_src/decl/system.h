/* The system types pfring.h uses (from <sys/types.h>, <sys/time.h>,
 * <stdint.h> and <netinet/in.h>); the rest of the declarations come from
 * pfring.h itself (cdef_from_header.py). */
typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef uint8_t u_int8_t;
typedef uint16_t u_int16_t;
typedef uint32_t u_int32_t;
typedef uint64_t u_int64_t;
struct timeval { long tv_sec; long tv_usec; ...; };
struct timespec { long tv_sec; long tv_nsec; ...; };
struct in6_addr { ...; };
