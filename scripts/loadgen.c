/*
 * BEP 15 load generator for `npm run bench` (compiled by scripts/bench.sh with gcc -O2).
 *
 *   loadgen load PORT WINDOW SECONDS SWARMS WARMUP RUN [HOST]   announces to HOST:PORT, WINDOW of them in flight
 *   loadgen count PORT SWARMS [HOST]                            peers held (seeders + leechers) over SWARMS, by scrape
 *
 * HOST is an IPv4 address, 127.0.0.1 when left out (the sockets are then bound to 127.0.0.1; with HOST, to every
 * address: the chaos run reaches its floating service address over a bridge). Eight UDP sockets, one connect
 * each, then a window of announces kept in flight (poll, recvfrom, sendto): every reply sends the next announce on
 * that socket. Swarm i has the info hash 7a11ce00 00..00 <i as 4 bytes> (so a whitelist can list them); every
 * announce carries a new peer ID and port (RUN keeps runs apart), one in three is a seeder. A request unanswered
 * for 250 ms is sent again (counted). After WARMUP seconds uncounted, counts SECONDS; prints one JSON line with the
 * replies and its own CPU time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKETS 8
#define MAX_SLOTS 4096

static struct sockaddr_in to;
static const char *host; /* NULL: 127.0.0.1 */
static int fds[SOCKETS];
static uint64_t conn[SOCKETS];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }

static void info_hash(uint8_t *p, uint32_t i) {
  memset(p, 0, 20);
  put32(p, 0x7a11ce00);
  put32(p + 16, i);
}

/* Send `req` on socket s until a reply with its transaction ID (at offset 4) comes, or 10 s pass. */
static int ask(int s, const uint8_t *req, size_t len, uint8_t *reply, size_t cap) {
  double end = now() + 10;
  while (now() < end) {
    sendto(fds[s], req, len, 0, (struct sockaddr *)&to, sizeof to);
    struct pollfd p = {fds[s], POLLIN, 0};
    double retry = now() + 0.5;
    while (now() < retry && poll(&p, 1, 100) >= 0) {
      ssize_t n = (p.revents & POLLIN) ? recvfrom(fds[s], reply, cap, 0, NULL, NULL) : -1;
      if (n >= 8 && memcmp(reply + 4, req + 12, 4) == 0) return (int)n;
    }
  }
  return -1;
}

static void open_sockets(int port) {
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (host && inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "loadgen: bad HOST %s\n", host); exit(2); }
  for (int s = 0; s < SOCKETS; s++) {
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(host ? INADDR_ANY : INADDR_LOOPBACK)};
    fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[s] < 0 || bind(fds[s], (struct sockaddr *)&me, sizeof me) < 0) { perror("socket"); exit(1); }
    uint8_t req[16], reply[64];
    put64(req, 0x41727101980ULL);
    put32(req + 8, 0);
    put32(req + 12, 0xc0000000u + s);
    if (ask(s, req, 16, reply, sizeof reply) < 16 || get32(reply) != 0) {
      fprintf(stderr, "loadgen: no connect reply on socket %d\n", s);
      exit(1);
    }
    memcpy(&conn[s], reply + 8, 8);
  }
}

static int count(int port, uint32_t swarms) {
  open_sockets(port);
  uint64_t peers = 0;
  uint8_t req[16 + 74 * 20], reply[8 + 74 * 12];
  for (uint32_t first = 0; first < swarms; first += 74) {
    uint32_t n = swarms - first < 74 ? swarms - first : 74;
    memcpy(req, &conn[0], 8);
    put32(req + 8, 2);
    put32(req + 12, first);
    for (uint32_t j = 0; j < n; j++) info_hash(req + 16 + 20 * j, first + j);
    if (ask(0, req, 16 + 20 * n, reply, sizeof reply) < (int)(8 + 12 * n) || get32(reply) != 2) {
      fprintf(stderr, "loadgen: no scrape reply for swarms %u..\n", first);
      return 1;
    }
    for (uint32_t j = 0; j < n; j++) peers += get32(reply + 8 + 12 * j) + get32(reply + 16 + 12 * j);
  }
  printf("{\"peers\":%llu}\n", (unsigned long long)peers);
  return 0;
}

typedef struct {
  uint32_t tx;
  int socket;
  double sent;
} Slot;

static Slot slots[MAX_SLOTS];
static uint64_t next_peer;
static uint32_t run, swarms, rng = 2463534242u;

static void announce(int i) {
  uint8_t b[98];
  Slot *sl = &slots[i];
  uint64_t n = next_peer++;
  rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
  sl->tx = ((sl->tx >> 12) + 1) << 12 | (uint32_t)i;
  memcpy(b, &conn[sl->socket], 8);
  put32(b + 8, 1);
  put32(b + 12, sl->tx);
  info_hash(b + 16, rng % swarms);
  memcpy(b + 36, "-LG0001-", 8);
  put32(b + 44, run);
  put64(b + 48, n);
  put64(b + 56, 0);                        /* downloaded */
  put64(b + 64, n % 3 == 0 ? 0 : 1000000); /* left */
  put64(b + 72, 0);                        /* uploaded */
  put32(b + 80, 0);                        /* event */
  put32(b + 84, 0);                        /* ip */
  put32(b + 88, (uint32_t)n);              /* key */
  put32(b + 92, 50);                       /* num_want */
  b[96] = (uint8_t)((1024 + n % 64000) >> 8);
  b[97] = (uint8_t)(1024 + n % 64000);
  sl->sent = now();
  sendto(fds[sl->socket], b, sizeof b, 0, (struct sockaddr *)&to, sizeof to);
}

static int load(int port, int window, double seconds, double warmup) {
  if (window < 1 || window > MAX_SLOTS) { fprintf(stderr, "loadgen: window 1..%d\n", MAX_SLOTS); return 2; }
  open_sockets(port);
  for (int i = 0; i < window; i++) slots[i].socket = i % SOCKETS;
  int active = 0; /* the window opens 16 at a time, so the first burst cannot overflow a receive buffer */
  struct pollfd p[SOCKETS];
  for (int s = 0; s < SOCKETS; s++) p[s] = (struct pollfd){fds[s], POLLIN, 0};
  uint64_t replies = 0, errors = 0, resent = 0;
  double start = now(), counting = start + warmup, end = counting + seconds, cpu0 = 0, scan = start + 0.1;
  int counted = warmup <= 0;
  if (counted) cpu0 = cpu();
  uint8_t r[2048];
  for (;;) {
    double t = now();
    if (!counted && t >= counting) counted = 1, replies = errors = resent = 0, cpu0 = cpu(), start = t;
    if (t >= end) break;
    for (int k = 0; k < 16 && active < window; k++) announce(active++);
    if (t >= scan) {
      for (int i = 0; i < active; i++)
        if (t - slots[i].sent > 0.25) resent++, announce(i);
      scan = t + 0.1;
    }
    if (poll(p, SOCKETS, active < window ? 0 : 10) <= 0) continue;
    for (int s = 0; s < SOCKETS; s++) {
      if (!(p[s].revents & POLLIN)) continue;
      for (;;) {
        ssize_t n = recvfrom(fds[s], r, sizeof r, MSG_DONTWAIT, NULL, NULL);
        if (n < 8) break;
        uint32_t tx = get32(r + 4), i = tx & 0xfff;
        if (i >= (uint32_t)active || slots[i].tx != tx) continue; /* late answer to a resent request */
        if (get32(r) == 1 && n >= 20) replies++;
        else errors++;
        announce((int)i);
      }
    }
  }
  double wall = now() - start, used = cpu() - cpu0;
  printf("{\"window\":%d,\"seconds\":%.3f,\"replies\":%llu,\"errors\":%llu,\"resent\":%llu,\"cpuSeconds\":%.3f,\"sent\":%llu}\n",
         window, wall, (unsigned long long)replies, (unsigned long long)errors, (unsigned long long)resent, used,
         (unsigned long long)next_peer);
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 8 || argc == 9) && strcmp(argv[1], "load") == 0) {
    if (argc == 9) host = argv[8];
    swarms = (uint32_t)atoi(argv[5]);
    run = (uint32_t)atoi(argv[7]);
    rng ^= run * 2654435761u;
    if (swarms < 1) return 2;
    return load(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[6]));
  }
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "count") == 0) {
    if (argc == 5) host = argv[4];
    return count(atoi(argv[2]), (uint32_t)atoi(argv[3]));
  }
  fprintf(stderr, "usage: loadgen load PORT WINDOW SECONDS SWARMS WARMUP RUN [HOST] | loadgen count PORT SWARMS [HOST]\n");
  return 2;
}
