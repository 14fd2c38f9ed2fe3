/*
 * syslib.c - the system libpcap behind the drop-in, and the functions that
 * go to it unchanged.
 *
 * The library comes from libpfring's one loader,
 * pfring_open_system_libpcap(): found at run time (never a path known at
 * build time), opened with RTLD_LOCAL | RTLD_DEEPBIND so that its own calls
 * resolve inside it first and nothing it exports enters the global scope.
 * This library carries the ELF note PFRING_PCAP_DROPIN_NOTE, so the loader
 * never takes it, or another copy of it, for the system libpcap.
 *
 * Functions with no pcap_t (name lookups, BPF helpers, dump files, data
 * link names) are plain forwarders here; the ones that take a pcap_t are in
 * pcap.c.  The two data symbols of libpcap, pcap_version and eproto_db, are
 * copied from the system library when this library is loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_pfring_int.h"

/* The drop-in's mark: an SHT_NOTE section, so the linker puts it in a
 * PT_NOTE segment that the loader reads without opening the library. */
__asm__(".pushsection .note.pcap_pfring,\"a\",@note\n"
        "  .balign 4\n"
        "  .long 2f - 1f\n"            /* namesz */
        "  .long 4f - 3f\n"            /* descsz */
        "  .long 1\n"                  /* type */
        "1: .asciz \"" PFRING_PCAP_DROPIN_NOTE "\"\n"
        "2: .balign 4\n"
        "3: .asciz \"libpcap drop-in\"\n"
        "4: .balign 4\n"
        ".popsection\n");

static struct pcappf_sys sys_table;
static int sys_ok;
static void *sys_handle;
static char sys_err[512];
static pthread_once_t sys_once = PTHREAD_ONCE_INIT;

static void sys_load(void)
{
  const char *missing = NULL;
  void *h = pfring_open_system_libpcap(sys_err, sizeof(sys_err));

  if (!h)
    goto fail;
#define X(name)                                                      \
  sys_table.name = (__typeof__(sys_table.name))dlsym(h, #name);      \
  if (!sys_table.name && !missing)                                   \
    missing = #name;
  SYS_FUNCS(X)
#undef X
  if (missing) {
    snprintf(sys_err, sizeof(sys_err), "the system libpcap '%s' has no %s",
             pfring_system_libpcap(), missing);
    goto fail;
  }
  if (sys_table.pcap_lib_version == pcap_lib_version) {
    snprintf(sys_err, sizeof(sys_err),
             "the system libpcap '%s' is this PF_RING libpcap itself; set "
             "PF_RING_SYSTEM_LIBPCAP to the distribution's libpcap", pfring_system_libpcap());
    goto fail;
  }
  sys_handle = h;
  __atomic_store_n(&sys_ok, 1, __ATOMIC_RELEASE);
  return;
fail:
  pcappf_log(0, "%s", sys_err);
}

const struct pcappf_sys *pcappf_sys(void)
{
  if (__atomic_load_n(&sys_ok, __ATOMIC_ACQUIRE))   /* the common case: no once */
    return &sys_table;
  pthread_once(&sys_once, sys_load);
  return sys_ok ? &sys_table : NULL;
}

const char *pcappf_sys_error(void)
{
  pcappf_sys();
  return sys_err;
}

/* ------------------------------------------------------------------------ */
/* Data symbols                                                              */

struct pcappf_eproto {
  const char *s;
  u_short p;
};

/* The sizes libpcap 1.10 gives them ("1.10.N" and 12 ethernet protocol
 * names plus the terminating entry), fixed here and not read from the
 * installed library: an executable that refers to one of them has a copy
 * of that size.  A unit test compares them with the system library's. */
#define PCAPPF_VERSION_BYTES 7
#define PCAPPF_EPROTO_ENTRIES 13

API char pcap_version[PCAPPF_VERSION_BYTES];
API struct pcappf_eproto eproto_db[PCAPPF_EPROTO_ENTRIES];

/* The size of a data symbol of the system libpcap, 0 if unknown. */
static size_t sys_data_size(const void *addr)
{
  Dl_info info;
  const ElfW(Sym) *sym = NULL;

  if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
    return 0;
  return sym->st_size;
}

__attribute__((constructor)) static void copy_data_symbols(void)
{
  const char *v;
  const struct pcappf_eproto *db;
  size_t n;

  if (!pcappf_sys())
    return;
  if ((v = dlsym(sys_handle, "pcap_version")))
    snprintf(pcap_version, sizeof(pcap_version), "%s", v);
  if ((db = dlsym(sys_handle, "eproto_db"))) {
    /* Up to the system table's end, always keeping the terminating entry. */
    n = sys_data_size(db) / sizeof(*db);
    if (n == 0 || n > PCAPPF_EPROTO_ENTRIES - 1)
      n = PCAPPF_EPROTO_ENTRIES - 1;
    for (size_t i = 0; i < n && db[i].s; i++)
      eproto_db[i] = db[i];
  }
}

/* ------------------------------------------------------------------------ */
/* Environment, debug output, version string                                 */

static struct pfring_pcap_env env;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void env_load(void)
{
  pfring_parse_pcap_env(&env);
}

const struct pfring_pcap_env *pcappf_env(void)
{
  pthread_once(&env_once, env_load);
  return &env;
}

/* Diagnostics.  Libraries do not print: the drop-in's messages go through
 * libpfring's print callback like libpfring's own.  The callback that the
 * drop-in installs when it is loaded (a program may install its own later)
 * keeps what unmodified programs have always shown on stderr: its own
 * messages as "pcap-pfring: <text>", libpfring's as libpfring's default
 * callback shows them ("pfring: <level>: <text>"), and info messages
 * (PCAP_PF_RING_DEBUG) only while that variable is set and not "0".  Other
 * callbacks get the drop-in's messages with their "pcap-pfring: " tag. */

#define PCAPPF_TAG "pcap-pfring: "

static __thread int own_message;   /* the callback is printing one of ours */

static int debug_on(void)
{
  const char *d = getenv("PCAP_PF_RING_DEBUG");
  return d && *d && strcmp(d, "0") != 0;
}

static void dropin_print(int level, const char *msg, void *user)
{
  if (level >= 2 && !debug_on())
    return;
  if (own_message)
    fprintf(stderr, "%s\n", msg);
  else
    pfring_default_print(level, msg, user);
}

/* Priority 101: before copy_data_symbols(), whose load may have a message. */
__attribute__((constructor(101))) static void install_print(void)
{
  pfring_set_print(dropin_print, NULL, 2);
}

static void vlog(int level, const char *fmt, va_list ap)
{
  char msg[512];

  memcpy(msg, PCAPPF_TAG, sizeof(PCAPPF_TAG) - 1);
  vsnprintf(msg + sizeof(PCAPPF_TAG) - 1, sizeof(msg) - (sizeof(PCAPPF_TAG) - 1), fmt, ap);
  own_message = 1;
  pfring_log(level, "%s", msg);
  own_message = 0;
}

void pcappf_log(int level, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

void pcappf_debug(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vlog(2, fmt, ap);
  va_end(ap);
}

static pthread_mutex_t version_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_fallback[256];
static char version_buf[2][512];
static int version_slot;

void pcappf_note_activation(const char *device, const char *fallback_reason)
{
  pthread_mutex_lock(&version_lock);
  if (fallback_reason)
    snprintf(last_fallback, sizeof(last_fallback), "%s: %s", device, fallback_reason);
  else
    last_fallback[0] = '\0';
  pthread_mutex_unlock(&version_lock);
}

/* "<system version> (pcap-pfring: ...)", saying whether live captures run on
 * PF_RING rings and, when the last one fell back, why. */
API const char *pcap_lib_version(void)
{
  const struct pcappf_sys *sys = pcappf_sys();
  const char *base = sys ? sys->pcap_lib_version() : "libpcap (system library not loaded)";
  char *out;

  pthread_mutex_lock(&version_lock);
  version_slot ^= 1;   /* the previous string stays valid for one more call */
  out = version_buf[version_slot];
  if (pcappf_env()->no_pf_ring)
    snprintf(out, sizeof(version_buf[0]),
             "%s (pcap-pfring: PCAP_NO_PF_RING is set, live captures use the system libpcap)",
             base);
  else if (last_fallback[0])
    snprintf(out, sizeof(version_buf[0]),
             "%s (pcap-pfring: PF_RING rings; fallback to the system libpcap for %s)", base,
             last_fallback);
  else
    snprintf(out, sizeof(version_buf[0]), "%s (pcap-pfring: live captures on PF_RING rings)",
             base);
  pthread_mutex_unlock(&version_lock);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Forwarders: no pcap_t involved                                            */

API int pcap_init(unsigned int opts, char *errbuf)
{
  SYS_CALL(PCAP_ERROR, pcap_init, opts, errbuf);
}

API const char *pcap_strerror(int err)
{
  SYS_CALL(strerror(err), pcap_strerror, err);
}

API const char *pcap_statustostr(int status)
{
  SYS_CALL("unknown libpcap status", pcap_statustostr, status);
}

API char *pcap_lookupdev(char *errbuf)
{
  SYS_CALL(NULL, pcap_lookupdev, errbuf);
}

API void pcap_freecode(struct bpf_program *prog)
{
  SYS_CALL_VOID(pcap_freecode, prog);
}

API int pcap_compile_nopcap(int snaplen, int linktype, struct bpf_program *prog,
                            const char *expr, int optimize, bpf_u_int32 mask)
{
  SYS_CALL(PCAP_ERROR, pcap_compile_nopcap, snaplen, linktype, prog, expr, optimize, mask);
}

API int pcap_offline_filter(const struct bpf_program *prog, const struct pcap_pkthdr *h,
                            const u_char *pkt)
{
  SYS_CALL(0, pcap_offline_filter, prog, h, pkt);
}

API u_int bpf_filter(const struct bpf_insn *insns, const u_char *pkt, u_int wirelen,
                     u_int buflen)
{
  SYS_CALL(0, bpf_filter, insns, pkt, wirelen, buflen);
}

API int bpf_validate(const struct bpf_insn *insns, int len)
{
  SYS_CALL(0, bpf_validate, insns, len);
}

API char *bpf_image(const struct bpf_insn *insn, int n)
{
  SYS_CALL(NULL, bpf_image, insn, n);
}

API void bpf_dump(const struct bpf_program *prog, int option)
{
  SYS_CALL_VOID(bpf_dump, prog, option);
}

API int pcap_datalink_name_to_val(const char *name)
{
  SYS_CALL(-1, pcap_datalink_name_to_val, name);
}

API const char *pcap_datalink_val_to_name(int dlt)
{
  SYS_CALL(NULL, pcap_datalink_val_to_name, dlt);
}

API const char *pcap_datalink_val_to_description(int dlt)
{
  SYS_CALL(NULL, pcap_datalink_val_to_description, dlt);
}

API const char *pcap_datalink_val_to_description_or_dlt(int dlt)
{
  SYS_CALL(NULL, pcap_datalink_val_to_description_or_dlt, dlt);
}

API void pcap_free_datalinks(int *dlts)
{
  /* a ring's list is the drop-in's; any other, the system libpcap's, which
   * frees it with its own allocator */
  if (dlts && pcappf_free_ring_datalinks(dlts))
    return;
  SYS_CALL_VOID(pcap_free_datalinks, dlts);
}

API int pcap_tstamp_type_name_to_val(const char *name)
{
  SYS_CALL(PCAP_ERROR, pcap_tstamp_type_name_to_val, name);
}

API const char *pcap_tstamp_type_val_to_name(int t)
{
  SYS_CALL(NULL, pcap_tstamp_type_val_to_name, t);
}

API const char *pcap_tstamp_type_val_to_description(int t)
{
  SYS_CALL(NULL, pcap_tstamp_type_val_to_description, t);
}

API void pcap_free_tstamp_types(int *types)
{
  SYS_CALL_VOID(pcap_free_tstamp_types, types);
}

/* Once per packet in tcpdump -w: a dumper exists, so the system libpcap is
 * loaded; go straight to it. */
static __attribute__((noinline, cold)) void dump_loading(u_char *user,
                                                          const struct pcap_pkthdr *h,
                                                          const u_char *sp)
{
  SYS_CALL_VOID(pcap_dump, user, h, sp);
}

API void pcap_dump(u_char *user, const struct pcap_pkthdr *h, const u_char *sp)
{
  if (__builtin_expect(__atomic_load_n(&sys_ok, __ATOMIC_RELAXED), 1))
    sys_table.pcap_dump(user, h, sp);
  else
    dump_loading(user, h, sp);
}

API FILE *pcap_dump_file(pcap_dumper_t *d)
{
  SYS_CALL(NULL, pcap_dump_file, d);
}

API long pcap_dump_ftell(pcap_dumper_t *d)
{
  SYS_CALL(-1, pcap_dump_ftell, d);
}

API int64_t pcap_dump_ftell64(pcap_dumper_t *d)
{
  SYS_CALL(-1, pcap_dump_ftell64, d);
}

API int pcap_dump_flush(pcap_dumper_t *d)
{
  SYS_CALL(-1, pcap_dump_flush, d);
}

API void pcap_dump_close(pcap_dumper_t *d)
{
  SYS_CALL_VOID(pcap_dump_close, d);
}

API u_char *pcap_ether_aton(const char *s)
{
  SYS_CALL(NULL, pcap_ether_aton, s);
}

API u_char *pcap_ether_hostton(const char *s)
{
  SYS_CALL(NULL, pcap_ether_hostton, s);
}

API struct pcap_etherent *pcap_next_etherent(FILE *fp)
{
  SYS_CALL(NULL, pcap_next_etherent, fp);
}

API bpf_u_int32 **pcap_nametoaddr(const char *name)
{
  SYS_CALL(NULL, pcap_nametoaddr, name);
}

API struct addrinfo *pcap_nametoaddrinfo(const char *name)
{
  SYS_CALL(NULL, pcap_nametoaddrinfo, name);
}

API bpf_u_int32 pcap_nametonetaddr(const char *name)
{
  SYS_CALL(0, pcap_nametonetaddr, name);
}

API int pcap_nametoport(const char *name, int *port, int *proto)
{
  SYS_CALL(0, pcap_nametoport, name, port, proto);
}

API int pcap_nametoportrange(const char *name, int *port1, int *port2, int *proto)
{
  SYS_CALL(0, pcap_nametoportrange, name, port1, port2, proto);
}

API int pcap_nametoproto(const char *name)
{
  SYS_CALL(PROTO_UNDEF, pcap_nametoproto, name);
}

API int pcap_nametoeproto(const char *name)
{
  SYS_CALL(PROTO_UNDEF, pcap_nametoeproto, name);
}

API int pcap_nametollc(const char *name)
{
  SYS_CALL(PROTO_UNDEF, pcap_nametollc, name);
}
