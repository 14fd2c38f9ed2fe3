/*
 * dna_cluster_shm.h - the shared memory of a DNA Cluster (libzero), as the
 * master (libpfring/src/dna_cluster.c) and the slaves
 * (drivers/dna_cluster.c) both see it.  Nothing here is part of the ABI.
 *
 * One file per cluster, /dev/shm/pfring-dnacluster-<id>, mode 0600, created
 * O_CREAT|O_EXCL|O_NOFOLLOW by the master and removed by
 * dna_cluster_destroy.  It holds, page aligned, one after the other:
 *
 *   header     struct dnacl_hdr: magic, version, geometry, the state
 *   apps       num_apps x struct dnacl_app: one queue's indexes, counters
 *              and futex word, master-written and slave-written halves on
 *              cache lines of their own
 *   queues     num_apps x queue_slots x struct dnacl_desc: per app a
 *              single-producer (master) single-consumer (slave) ring
 *   buffers    num_bufs x buf_size bytes: the packet pool
 *   tx queues  num_apps x tx_slots x struct dnacl_desc: per app a
 *              single-producer (slave) single-consumer (master) ring of
 *              frames to send (tx_slots is 0 in recv_only_mode: no TX part)
 *   tx buffers num_apps x tx_bufs x buf_size bytes: per app its own TX
 *              buffers (tx_slots of them for the queue, the rest for the
 *              pkt_buff handles a slave may hold)
 *
 * Liveness: open file description locks (F_OFD_SETLK, released by the
 * kernel when the holder dies, SIGKILL included) on single bytes of the
 * file: byte 0 is the master's, byte 1 + APP the slave's of app APP.
 * F_OFD_GETLK tells whether a holder is alive without taking the lock.
 *
 * A queue: the master writes descriptors at head and publishes head
 * (release), once per burst of packets; the slave reads from its private read index up to head, and
 * publishes tail (release) once it is done with the packets, i.e. at its
 * next receive call.  The master owns the buffers' reference counts and
 * the free list (its private memory): it walks each queue from its last
 * seen position to tail and drops one reference per descriptor; a buffer
 * whose count reaches 0 goes back to the pool.  The pool holds one buffer
 * more than all the queues together, so the master never waits for one.
 *
 * Who owns a queue: app.owner is 0 (nobody), a slave's token (unique per
 * join, from hdr.join_seq) or DNACL_OWNER_FLUSHING (the master empties the
 * queue of a slave that died or left).  A slave joins by taking its app
 * byte's lock and then moving owner from anything but FLUSHING to its
 * token; the master flushes only after F_OFD_GETLK found the byte unlocked
 * and a compare-and-swap from the owner it saw to FLUSHING succeeded, so a
 * slave that joined in between makes that swap fail.  The master delivers
 * only to queues with an owner.
 *
 * Keeping packets aside (pfring_recv_pkt_buff): a slave may hold on to a
 * received packet past its next receive call without copying it.  It
 * then publishes as tail the oldest position it still holds (kept in a
 * pkt_buff handle, or named by a TX descriptor not yet consumed) instead
 * of its read index, so the master keeps that buffer, and the queue's
 * descriptor for it, for as long as the slave holds it.  Such a packet
 * pins the queue: the master can queue at most queue_slots packets past
 * it before it drops for that app (for that app only).  A slave that dies
 * loses what it held with its queue, as above.
 *
 * A TX queue (send_only_mode, send_and_recv_mode): the slave copies a frame
 * into one of its app's TX buffers (its free list is private), writes a
 * descriptor at its private head (buf: the index among the app's TX
 * buffers, or DNACL_TX_RX_SLOT | the slot of a packet of its RX queue that
 * it holds, sent from the pool where the master put it; caplen: the
 * frame's length, if_index: the egress interface or 0) and publishes
 * tx_head (release) when it flushes.  The master's thread
 * reads descriptors from its private tx_tail up to tx_head, sends each on
 * an egress ring, and publishes tx_tail (release): from then on the slave
 * may reuse those buffers.  The master drains only queues with an owner;
 * flushing a queue drops (counts) what its dead slave published and
 * moves tx_tail to it (every 100 ms, and when the master's thread
 * starts, before it sends anything).  A joining slave sets tx_head to
 * tx_tail.
 *
 * Trust: the file is private to one user, and still neither side trusts
 * what the other writes beyond its role.  The master keeps the geometry,
 * each queue's head and the buffer of every queued slot in private memory
 * and takes from a slave only its tail, clamped to what was queued; a
 * slave checks each descriptor against the geometry it read at open.  Of
 * a TX queue the master takes tx_head only when it lies within tx_slots of
 * its private tx_tail, reads each descriptor once into private memory, and
 * sends it only if buf < tx_bufs, or buf is DNACL_TX_RX_SLOT | slot of a
 * position of the app's RX queue that the master queued and has not seen
 * released (its private head and references say so; the buffer is the
 * master's record of that slot), and 0 < caplen <= buf_size (else it is
 * dropped, counted).
 */
#ifndef DNA_CLUSTER_SHM_H
#define DNA_CLUSTER_SHM_H

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>

#define DNACL_MAGIC 0x444e4143u          /* "DNAC" */
#define DNACL_VERSION 4u
#define DNACL_SHM_DIR "/dev/shm"
#define DNACL_SHM_PREFIX "pfring-dnacluster-"
#define DNACL_QUEUE_SLOTS 4096u          /* per app, a power of two */
#define DNACL_BUF_SIZE 2048u             /* bytes per packet buffer: the longest caplen */
#define DNACL_OWNER_FLUSHING 0xffffffffu
#define DNACL_TX_RX_SLOT 0x80000000u       /* TX desc buf: a slot of the app's RX queue */
#define DNACL_LOCK_MASTER 0              /* lock byte of the master */
#define DNACL_LOCK_APP(a) (1 + (a))      /* lock byte of app a */

enum dnacl_state {
  DNACL_CREATING = 0,                    /* the master is filling the header */
  DNACL_READY = 1,                       /* created, not distributing */
  DNACL_RUNNING = 2,                     /* the master's thread distributes */
  DNACL_GONE = 3,                        /* destroyed: slaves get an error */
};

struct dnacl_desc {
  u_int32_t buf;                         /* index in the pool */
  u_int32_t caplen;                      /* bytes in the buffer */
  u_int32_t len;                         /* on the wire */
  int32_t if_index;
  u_int64_t ts_ns;                       /* CLOCK_REALTIME */
  u_int8_t rx_direction;
  u_int8_t pad[3];
  u_int32_t hash;                        /* the distribution function's *hash */
};

struct dnacl_app {
  /* written by the master */
  u_int64_t head __attribute__((aligned(64)));
  u_int64_t delivered;                   /* descriptors pushed */
  u_int64_t dropped;                     /* queue full or no slave */
  u_int32_t seq;                         /* futex word, bumped to wake the slave */
  u_int64_t tx_tail;                     /* TX descriptors consumed (sent or dropped) */
  u_int64_t tx_sent;                     /* frames sent on an egress ring */
  u_int64_t tx_dropped;                  /* bad descriptor, no egress ring, send failed */
  /* written by the slave */
  u_int64_t tail __attribute__((aligned(64)));
  u_int64_t tx_head;                     /* TX descriptors published */
  u_int32_t waiting;                     /* the slave sleeps on seq */
  u_int32_t owner;                       /* 0, a join token or DNACL_OWNER_FLUSHING */
  u_int32_t owner_pid;                   /* for messages */
} __attribute__((aligned(64)));

struct dnacl_hdr {
  u_int32_t magic;
  u_int32_t version;
  u_int32_t cluster_id;
  u_int32_t num_apps;
  u_int32_t queue_slots;
  u_int32_t num_bufs;
  u_int32_t buf_size;
  u_int32_t state;                       /* enum dnacl_state */
  u_int32_t master_pid;
  u_int32_t active_wait;                 /* 1: slaves spin (yielding) instead of sleeping */
  u_int32_t join_seq;                    /* last join token handed out */
  u_int32_t pad;
  u_int64_t apps_off, queues_off, bufs_off, total_size;
  u_int32_t tx_slots;                    /* per app TX queue: 0 or a power of two */
  u_int32_t tx_bufs;                     /* per app TX buffers: tx_slots + extra, or 0 */
  u_int64_t txq_off, txbufs_off;
};

static inline size_t dnacl_page_align(size_t v)
{
  return (v + 4095) & ~(size_t)4095;
}

/* The offsets of a cluster of num_apps apps: fills them into h. */
static inline void dnacl_layout(struct dnacl_hdr *h)
{
  h->apps_off = dnacl_page_align(sizeof(*h));
  h->queues_off = h->apps_off + dnacl_page_align((size_t)h->num_apps * sizeof(struct dnacl_app));
  h->bufs_off = h->queues_off +
                dnacl_page_align((size_t)h->num_apps * h->queue_slots * sizeof(struct dnacl_desc));
  h->txq_off = h->bufs_off + dnacl_page_align((size_t)h->num_bufs * h->buf_size);
  h->txbufs_off = h->txq_off +
                  dnacl_page_align((size_t)h->num_apps * h->tx_slots * sizeof(struct dnacl_desc));
  h->total_size = h->txbufs_off +
                  dnacl_page_align((size_t)h->num_apps * h->tx_bufs * h->buf_size);
}

static inline struct dnacl_app *dnacl_app(void *base, u_int32_t a)
{
  struct dnacl_hdr *h = (struct dnacl_hdr *)base;
  return (struct dnacl_app *)((char *)base + h->apps_off) + a;
}

static inline struct dnacl_desc *dnacl_queue(void *base, u_int32_t a)
{
  struct dnacl_hdr *h = (struct dnacl_hdr *)base;
  return (struct dnacl_desc *)((char *)base + h->queues_off) + (size_t)a * h->queue_slots;
}

static inline u_char *dnacl_buf(void *base, u_int32_t i)
{
  struct dnacl_hdr *h = (struct dnacl_hdr *)base;
  return (u_char *)base + h->bufs_off + (size_t)i * h->buf_size;
}

/* Takes the write lock of byte `byte` (without waiting): 0, or -1 with
 * errno (EAGAIN: somebody alive holds it). */
static inline int dnacl_lock(int fd, int byte)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
  return fcntl(fd, F_OFD_SETLK, &fl);
}

static inline void dnacl_unlock(int fd, int byte)
{
  struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
  (void)fcntl(fd, F_OFD_SETLK, &fl);
}

/* Whether a live process (other than through this open file) holds byte
 * `byte`: 1 yes, 0 no, 1 as well when it cannot be told. */
static inline int dnacl_locked(int fd, int byte)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
  if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
    return 1;
  return fl.l_type != F_UNLCK;
}

#endif /* DNA_CLUSTER_SHM_H */
