/* SPDX-License-Identifier: MIT */
/*
 * lbd-plugin.h — the public interface between lbd and its plugins.
 *
 * This is the only header a plugin author needs. It is installed as
 * $includedir/lbd/lbd-plugin.h together with lbd-plugin.pc, whose cflags put
 * that folder on the include path, so a plugin built outside lbd's source
 * tree writes #include <lbd-plugin.h> and builds with
 *
 *     cc -shared -fPIC $(pkg-config --cflags lbd-plugin) -o my.so my.c
 *
 * A plugin is a shared object that exports exactly one symbol,
 * LBD_PLUGIN_ENTRY_SYMBOL, a function returning a pointer to a static
 * struct lbd_plugin_descriptor. Use LBD_PLUGIN_DEFINE() to declare it.
 *
 * Compatibility rules (modelled on nginx's module signature):
 *   - abi_version must equal the daemon's LBD_PLUGIN_ABI_VERSION; a plugin
 *     built against another version is refused with a log line saying so.
 *   - every struct carries its own size, so the daemon can tell an older,
 *     shorter struct from a current one; new members are only ever appended
 *     (the reserved slots exist so the size of the descriptor itself need not
 *     change for a while).
 *   - nothing in the plugin may have side effects before init() is called:
 *     the loader may open a file only to learn its name and close it again.
 *
 * Plugin code runs inside the daemon (init/fini in the master process, the
 * kind-specific operations where documented). It must not call exit(),
 * install signal handlers or block the master's main loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */
struct iovec;

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change to any struct in this file once lbd
 * has had a release; until then ABI 1 may still change (as LBD_WAIT_DETACH
 * was added to it). */
#define LBD_PLUGIN_ABI_VERSION 1u

/* The one symbol every plugin exports. */
#define LBD_PLUGIN_ENTRY lbd_plugin_get_descriptor
#define LBD_PLUGIN_ENTRY_SYMBOL "lbd_plugin_get_descriptor"

/* Longest plugin name, without the terminating NUL. Names are
 * [a-z0-9_]+, starting with a letter: they appear in config files, D-Bus
 * arguments and log lines. */
#define LBD_PLUGIN_NAME_MAX 32

enum lbd_plugin_kind {
        LBD_PLUGIN_KIND_WORKER = 1,  /* how a worker process serves its connections */
        LBD_PLUGIN_KIND_POLICY = 2,  /* which backend gets the next connection/request */
        LBD_PLUGIN_KIND_NETWORK = 3, /* how a link-aggregation device is made via libnm */
};

enum lbd_plugin_flags {
        /* The plugin exists so that its name resolves, but does not do its
         * job yet. The daemon logs a warning whenever it is selected and shows
         * the flag in ListPlugins; such a plugin is never counted as built. */
        LBD_PLUGIN_FLAG_PLACEHOLDER = 1u << 0,
};

/* Log priorities are syslog's (LOG_ERR = 3 … LOG_DEBUG = 7). */

/*
 * What the daemon offers a plugin. Passed to init(); valid until fini()
 * returns. Check struct_size before using a member added after ABI 1.
 */
struct lbd_host {
        uint32_t abi_version;
        uint32_t struct_size;
        /* Log one line, attributed to the plugin by the daemon. */
        void (*log)(const struct lbd_host *host, int priority, const char *format, ...)
                __attribute__((format(printf, 3, 4)));
        void *reserved[8];

        /* Appended after ABI 1's reserved slots: check struct_size first.
         *
         * Objects the plugins of one daemon share (the network plugins'
         * one NetworkManager client), owned by the daemon for its whole
         * life, across reloads. get_shared() returns the object stored under
         * key, or NULL. set_shared() stores one (key is copied; destroy,
         * if not NULL, is called once when the daemon stops, before any
         * plugin's fini()); -EEXIST when key holds one already. Master
         * process, main loop thread only. Keys are "plugin-kind.what". */
        void *(*get_shared)(const struct lbd_host *host, const char *key);
        int (*set_shared)(const struct lbd_host *host, const char *key, void *object,
                          void (*destroy)(void *object));
        /* During init() only, before it fails: why, in one sentence for the
         * administrator ("io_uring is disabled on this machine ..."). The
         * daemon logs it as the refusal and repeats it where a
         * configuration names the plugin (lbd -t, SetWorkerModel). */
        void (*init_error)(const struct lbd_host *host, const char *format, ...)
                __attribute__((format(printf, 2, 3)));

        /* Appended after init_error: check struct_size first.
         *
         * The master's fds inside a shared object (a connection of its own
         * to the system bus, authenticated as the master) that worker
         * processes must not inherit. fds() is asked at every fork for the
         * object stored under key and writes at most max of them; the
         * worker closes them before it serves. 0, or -ENOENT when key holds
         * no object. Master process, main loop thread only. */
        int (*set_shared_private_fds)(const struct lbd_host *host, const char *key,
                                      size_t (*fds)(void *object, int *fds, size_t max));
};

/* ---- worker plugins ---------------------------------------------------- */

/*
 * A worker plugin decides how one worker process spends its time: it owns
 * the loop (epoll, a thread pool, one connection at a time) and drives the
 * daemon's proxy engine, which is written once and is the same for every
 * model. The engine is a set of resumable sessions, one per client
 * connection: session_run() does all the work it can without blocking and
 * then says what it waits for (struct lbd_wait). The worker model only
 * waits for that and calls session_run() again.
 */

/* Opaque: one worker process's view of the engine. */
struct lbd_worker;
/* Opaque: one client connection going through the proxy state machine. */
struct lbd_session;

enum lbd_wait_events {
        LBD_WAIT_READ = 1u << 0,
        LBD_WAIT_WRITE = 1u << 1,
        /* fd[i] leaves this session (an idle upstream connection going to
         * the worker's pool, where another session may take it): stop
         * watching it for this session (edge-triggered models:
         * EPOLL_CTL_DEL, since a registration outlives the session; or
         * keep it and report it through idle_event(), see
         * LBD_WORKER_WATCHES_IDLE) and call session_run() again at once,
         * before waiting. Never combined with READ or WRITE. */
        LBD_WAIT_DETACH = 1u << 2,
};

/* What a model saw of one of a session's fds, for session_ready(). */
enum lbd_ready_events {
        LBD_READY_READ = LBD_WAIT_READ,
        LBD_READY_WRITE = LBD_WAIT_WRITE,
        /* The peer closed or the socket failed (EPOLLRDHUP, EPOLLHUP,
         * EPOLLERR; POLLHUP, POLLERR): reading goes on to the end. */
        LBD_READY_HUP = 1u << 3,
};

/* lbd_wait.fd_new */
enum lbd_fd_news {
        LBD_FD_SAME = 0,
        LBD_FD_NEW = 1, /* a new file under this number: register it */
        /* An idle upstream connection that the model kept watching
         * (LBD_WORKER_WATCHES_IDLE) now belongs to this session: it is
         * registered already; its events go to this session from now on. */
        LBD_FD_FROM_IDLE = 2,
};

/* What a worker model declares with set_features() before its first
 * accept(). */
enum lbd_worker_features {
        /* The model calls session_ready() with every readiness it sees for
         * a session's fds before it calls session_run(). A session then
         * takes a short read for "nothing more for now" (nginx's ready flag)
         * and does not try a read or a write that readiness says would
         * fail: an edge-triggered model must register EPOLLRDHUP, so that
         * a FIN that came with the last bytes is seen. Without it a session
         * tries every read until EAGAIN. */
        LBD_WORKER_REPORTS_READINESS = 1u << 0,
        /* On LBD_WAIT_DETACH the model keeps watching the fd (no
         * EPOLL_CTL_DEL) and reports what it sees of it through
         * idle_event() until a session takes it back (LBD_FD_FROM_IDLE). The
         * engine then does not check an idle connection for a close before
         * reusing it: the event did. Only for a model that runs all
         * sessions of the worker on one thread. */
        LBD_WORKER_WATCHES_IDLE = 1u << 1,
};

/* What a session waits for after session_run(). All its fds are
 * non-blocking. Readiness is edge-style: the session has already tried the
 * I/O it reports here and got EAGAIN (or, with LBD_WORKER_REPORTS_READINESS,
 * knows it would), so a model may register each fd once with
 * edge-triggered epoll (fd_new says when an fd is new since the last
 * return: an fd number may be reused after the session closed it) or
 * poll() exactly the events asked for. */
struct lbd_wait {
        int fd[2];            /* client, upstream; -1 when not open */
        uint32_t events[2];   /* enum lbd_wait_events, for poll()-based models */
        uint8_t fd_new[2];    /* enum lbd_fd_news (edge-triggered models) */
        uint64_t deadline_ms; /* CLOCK_MONOTONIC milliseconds; 0: none. When it
                               * passes, call session_run() anyway. */
};

enum lbd_worker_state {
        LBD_WORKER_RUNNING = 0,
        LBD_WORKER_STOPPING = 1, /* stop accepting; finish open sessions */
        LBD_WORKER_STOP_NOW = 2, /* close everything and return */
};

/* A completion-based model's sockets (io_uring): the model receives into
 * buffers of its own before the session asks and sends from copies it
 * keeps until the kernel took them, so a session's I/O is a copy, not a
 * system call. The engine calls these instead of recv(), send(), shutdown()
 * and close() of its sockets (never of anything else: pipes, files). What a
 * model has received for an fd it reports with session_ready() (READ; HUP
 * at the end or an error), and room to send again with WRITE. */
struct lbd_worker_io {
        uint32_t struct_size;
        /* As recv(2) with MSG_DONTWAIT: bytes copied into buf, 0 at the
         * peer's end, -1 with errno (EAGAIN: nothing received yet). */
        ssize_t (*recv)(void *io_data, int fd, void *buf, size_t len);
        /* As sendmsg(2) with MSG_DONTWAIT | MSG_NOSIGNAL: how many bytes of
         * iov the model took (it owns its copy now), fewer than given when
         * it holds as much as it will for fd, -1 with errno (EAGAIN when it
         * took nothing, or the error a send of fd met). */
        ssize_t (*send)(void *io_data, int fd, const struct iovec *iov, int iovcnt);
        /* shutdown(fd, SHUT_WR), once what was taken for fd is sent. */
        void (*shutdown)(void *io_data, int fd);
        /* close(fd), once what was taken for fd is sent; the fd number
         * stays open (the model's) until then. */
        void (*close)(void *io_data, int fd);
        void *reserved[4];
};

/* The engine, as the host gives it to worker plugins. Valid in the worker
 * process for the lifetime of run(); every call is thread-safe for
 * distinct sessions. */
struct lbd_worker_host {
        uint32_t struct_size;
        /* The listening sockets this worker accepts on (non-blocking). */
        size_t (*listeners)(struct lbd_worker *w, const int **fds);
        /* Accept one connection from listener fds[i] and start a session for
         * it. NULL with errno EAGAIN when there is none; other errnos are
         * logged by the host and are not fatal. */
        struct lbd_session *(*accept)(struct lbd_worker *w, size_t listener);
        /* Advance the session. Returns 1 and fills *wait when it waits for
         * something, 0 when it is finished (then free it with
         * session_free()). */
        int (*session_run)(struct lbd_session *s, struct lbd_wait *wait);
        void (*session_free)(struct lbd_session *s);
        /* Whether the master asked this worker to stop. Cheap (a flag). */
        enum lbd_worker_state (*state)(struct lbd_worker *w);
        /* Tell the master this worker is alive; call at least once a second
         * (the master kills a worker silent for `timeout` seconds). Cheap. */
        void (*heartbeat)(struct lbd_worker *w);
        /* Settings of the model: worker-connections and threads. */
        unsigned (*max_connections)(struct lbd_worker *w);
        unsigned (*threads)(struct lbd_worker *w);
        /* CLOCK_MONOTONIC in milliseconds, as deadline_ms uses. */
        uint64_t (*now_ms)(void);
        /* Whether this worker holds no more than its share of the daemon's
         * client connections. A model that accepts many connections per
         * wake-up should stop accepting while this is false, so that the
         * other workers take the new ones (an even spread, which accept
         * wake-ups alone do not give). Cheap: reads the scoreboard. */
        bool (*fair_share)(struct lbd_worker *w);

        /* In ABI 1's reserved slots (NULL in a host without them). */

        /* Declare enum lbd_worker_features; once, before the first accept(). */
        void (*set_features)(struct lbd_worker *w, uint32_t features);
        /* With LBD_WORKER_REPORTS_READINESS: what the model saw of the
         * session's fd `which` (0 client, 1 upstream: as in struct
         * lbd_wait), enum lbd_ready_events. Cheap (sets flags). */
        void (*session_ready)(struct lbd_session *s, unsigned which, uint32_t events);
        /* With LBD_WORKER_WATCHES_IDLE: what the model saw of an idle
         * upstream fd (one a session detached and no session took back).
         * The engine closes it if the backend closed it or sent something;
         * the model then sees no more of it (closing ends the epoll
         * registration). An fd that is no longer idle is ignored. */
        void (*idle_event)(struct lbd_worker *w, int fd, uint32_t events);
        /* An fd that becomes readable (watch it edge-triggered; never read
         * it) when a worker of this daemon left the accept queue for its
         * fair share: the connections still queued woke that worker alone
         * (EPOLLEXCLUSIVE), so a model in the queue should accept from its
         * listeners now. -1 if there is none. */
        int (*queue_fd)(struct lbd_worker *w);
        /* A connection the model accepted itself (a multishot accept in a
         * ring): start its session as accept() would have. NULL (the fd
         * closed, errno set) when it cannot; the host logs why. */
        struct lbd_session *(*adopt)(struct lbd_worker *w, size_t listener, int fd);
        /* The model carries the sessions' bytes itself (completion-based
         * I/O, struct lbd_worker_io): from now on every read, write,
         * shutdown and close of the sockets of this worker's sessions and
         * of its idle upstream connections goes through io. Once, before
         * the first accept, with LBD_WORKER_REPORTS_READINESS declared. */
        void (*set_io)(struct lbd_worker *w, const struct lbd_worker_io *io, void *io_data);
        /* Hold the engine's clock for a batch of work (hold true: read it
         * once now; false: read it afresh again), so that a model running
         * many sessions per wake-up does not read it for every step of
         * every session. now_ms() reads the held time too. */
        void (*hold_clock)(struct lbd_worker *w, bool hold);
        void *reserved[1];
};

struct lbd_worker_ops {
        uint32_t struct_size;
        /* Serve connections in this worker process until state() says stop
         * and, for a graceful stop, the open sessions have finished. Returns
         * 0 on a clean stop, a negative errno otherwise. */
        int (*run)(void *plugin_data, const struct lbd_worker_host *host,
                   struct lbd_worker *worker);
        /* The system calls run() makes beyond those every worker may make,
         * by name ("io_uring_enter"), NULL-terminated; NULL for none.
         * A worker is confined before run() (Landlock and a seccomp
         * allow-list, see lbd(8) "SECURITY"): any other system call kills
         * it. Took the place of reserved[0], which ABI 1 plugins left
         * NULL. */
        const char *const *extra_syscalls;
        void *reserved[3];
};

/* ---- policy plugins ---------------------------------------------------- */

/*
 * A policy picks one backend of a service's pool for a new connection (tcp)
 * or request (http). It runs in the workers, on the hot path, and sees the
 * daemon's whole state: the pool lives in the shared backend table, so
 * active() counts the connections of every worker, and the policy's own
 * state (scratch(), pool_word()) is shared by all workers too, which gives
 * one round-robin sequence for the daemon, not one per worker.
 *
 * The host narrows the candidates before asking: usable() is false for a
 * backend that is disabled, draining, down (active or passive health), at
 * max_conns, already tried by this request, or not in the tier being picked.
 * The host asks first for a primary; only when the policy answers -EAGAIN
 * (no usable primary) does it ask again with the backups as the tier.
 */

/* Opaque: one service's pool of backends in the shared backend table. */
struct lbd_pool;
struct lbd_pick;

/* What the host offers a policy during pick(). Every function is cheap
 * (reads of shared memory, no system calls) and takes the pick being made.
 * Positions are 0 .. pick->count - 1; they are stable during one pick only
 * (the host retries the pick if the master changed the pool meanwhile). */
struct lbd_pool_host {
        uint32_t struct_size;
        /* Whether position i may take this pick (see above). */
        bool (*usable)(const struct lbd_pick *pick, uint32_t i);
        /* Effective weight, >= 1: the configured weight, ramped up during
         * slow start. */
        uint32_t (*weight)(const struct lbd_pick *pick, uint32_t i);
        /* Open connections to the backend, from all workers. */
        uint32_t (*active)(const struct lbd_pick *pick, uint32_t i);
        /* A 64-bit hash of the backend's identity (its address), the same in
         * every process and across restarts: for consistent hashing. */
        uint64_t (*key)(const struct lbd_pick *pick, uint32_t i);
        /* One shared signed 64-bit word per backend for the policy's state,
         * zero when the backend joins the pool. Change it only between
         * lock() and unlock(). */
        int64_t *(*scratch)(const struct lbd_pick *pick, uint32_t i);
        /* One shared word per pool, zero at first; for lock-free use with
         * __atomic builtins (a rotating start, for instance). */
        uint64_t *(*pool_word)(const struct lbd_pick *pick);
        /* The pool's lock, shared by every worker process and thread.
         * Hold it only for the length of a pick. */
        void (*lock)(const struct lbd_pick *pick);
        void (*unlock)(const struct lbd_pick *pick);

        /* In ABI 1's reserved slots (NULL in a host without them). */

        /* The table the policy's build() made for this pool and tier, and
         * its length in *ret_len; NULL (and 0) when there is none. Its
         * entries are positions, as build() wrote them. */
        const uint32_t *(*table)(const struct lbd_pick *pick, uint32_t *ret_len);
        void *reserved[7];
};

/* One pick. The host fills it in; the policy answers with a position. */
struct lbd_pick {
        uint32_t struct_size;
        uint32_t count;                    /* positions 0 .. count - 1 */
        const struct lbd_pool_host *host;
        struct lbd_pool *pool;
        /* Client address (struct sockaddr), for affinity; client_hash is a
         * 64-bit hash of its IP address alone (not the port; 0 for unix
         * sockets), the same in every process. */
        const void *client_addr;
        uint32_t client_addr_len;
        uint64_t client_hash;
        bool backup_tier;                  /* picking among the backups */
        void *reserved[4];
};

struct lbd_policy_ops {
        uint32_t struct_size;
        /* Return the position of the chosen backend, which must be usable,
         * or -EAGAIN when no position is usable. Called in workers on the
         * hot path, from several threads at once: it must not block (beyond
         * lock()), allocate or log. */
        int (*pick)(void *plugin_data, const struct lbd_pick *pick);

        /* In ABI 1's reserved slots (NULL in a plugin without them). */

        /* Optional: a lookup table of positions for one tier of a pool, so
         * that pick() need not scan a large pool (a schedule, a hash
         * table: HAProxy keeps such per-algorithm structures too). The
         * master calls it, never a worker, whenever the pool's members,
         * weights or states change and while a member's weight ramps up
         * (slow start). `pick` is the pool as a pick sees it, except that
         * usable() tells only whether the backend may be picked at all
         * (up, enabled, not draining, of pick->backup_tier): per-request
         * conditions (max_conns, already tried, a passive hold that began
         * since) still need usable() in pick(). Write at most `size`
         * entries to `table` and return how many; 0 means "no table"
         * (pick() then scans, as for a small pool). A worker reads the
         * table under the pool's sequence: it never sees half of one. */
        uint32_t (*build)(void *plugin_data, const struct lbd_pick *pick, uint32_t *table,
                          uint32_t size);
        void *reserved[3];
};

/* ---- network plugins --------------------------------------------------- */

/*
 * A network plugin makes one kind of link-aggregation device (a bond, a
 * team) as NetworkManager profiles: the controller's and one per port. It
 * runs in the master, on its GLib main loop, and never blocks it: every
 * call that needs NetworkManager returns at once and reports through a
 * done callback. Links are named by the controller's interface name.
 */

/* What a CreateLink or ModifyLink call asks for. Pointers are valid during
 * the call only. NULL (or has_* false) means "not given": a default when
 * creating, "keep" when modifying. Lists are NULL-terminated; an empty
 * list given clears (no addresses, routes, rules). */
struct lbd_link_request {
        uint32_t struct_size;
        const char *ifname;                    /* the controller, e.g. "bond0" */
        const char *const *ports;              /* CreateLink only: "eth0", ... */
        const char *mode;                      /* bond mode (Mode) */
        const char *runner;                    /* team runner (Runner) */
        const char *const *bond_options;       /* "name=value", from BondOptions */
        const char *team_config;               /* teamd JSON (TeamConfig) */
        const char *ipv4_method;               /* "auto", "manual", "disabled" */
        const char *const *ipv4_addresses;     /* "a.b.c.d/prefix" */
        const char *ipv4_gateway;
        const char *const *ipv4_routes;        /* "dest/prefix [next-hop] [metric]" */
        const char *const *ipv4_routing_rules; /* "priority 100 from ... table 100" */
        int64_t ipv4_route_metric;
        bool has_ipv4_route_metric;
        void *reserved[4];
};

/* One link as NetworkManager shows it, for list(). Valid during the
 * callback only. */
struct lbd_link_info {
        uint32_t struct_size;
        const char *name;         /* interface name */
        const char *kind;         /* the plugin's name */
        const char *mode;         /* bond mode or team runner; "" if unknown */
        const char *const *ports; /* port interface names, NULL-terminated */
        const char *state;        /* "activated", "disconnected", ... */
        bool managed;             /* made through lbd */
        void *reserved[4];
};

/* The outcome of an operation. error is 0 or a negative errno that says
 * which D-Bus error the caller gets: -EINVAL bad request, -ENOENT no such
 * link or port, -EEXIST name taken, -ENOTCONN NetworkManager not running
 * or gone during the call, -EOPNOTSUPP NetworkManager or the kernel cannot
 * do it, -ECANCELED the plugin stopped first, anything else: failed.
 * message is one sentence for the caller (NetworkManager's own reason
 * included); it may be NULL on success. */
typedef void (*lbd_link_done_fn)(void *userdata, int error, const char *message);

/* What the daemon offers a started network plugin. */
struct lbd_network_host {
        uint32_t struct_size;
        /* Something NetworkManager shows changed (a profile, a device
         * state, NetworkManager coming or going): the daemon calls list()
         * again. Cheap; call it as often as needed. */
        void (*links_changed)(const struct lbd_network_host *host);
        void *reserved[4];
};

struct lbd_network_ops {
        uint32_t struct_size;
        /* NetworkManager connection type this plugin makes ("bond", "team"). */
        const char *connection_type;
        /* Check a request before NetworkManager sees it (creating: whether
         * this is a CreateLink). On failure return a negative errno and set
         * *error_message to a malloc()ed sentence saying what was wrong and
         * what is allowed. Pure: no NetworkManager needed. request->ports
         * is NULL for ModifyLink and never NULL for CreateLink. */
        int (*validate)(void *plugin_data, const struct lbd_link_request *request,
                        char **error_message);

        /* The rest is optional: a plugin without it can only validate.
         *
         * Connect to NetworkManager (asynchronously) and report changes to
         * host until stop() or fini(). host stays valid until then. */
        int (*start)(void *plugin_data, const struct lbd_network_host *host);
        /* Stop reporting; operations under way end at once with
         * -ECANCELED (their done runs before stop() returns). */
        void (*stop)(void *plugin_data);
        /* Call each() for every link of this kind NetworkManager has now
         * (from its cache: no waiting). None while it is not running. */
        void (*list)(void *plugin_data,
                     void (*each)(const struct lbd_link_info *info, void *userdata),
                     void *userdata);
        /* The operations. Each calls done exactly once: later from the main
         * loop, or before it returns when it fails at once. create() makes
         * the controller and port profiles and, if activate, activates the
         * controller; any failure removes what it made. */
        void (*create)(void *plugin_data, const struct lbd_link_request *request, bool activate,
                       lbd_link_done_fn done, void *userdata);
        void (*modify)(void *plugin_data, const struct lbd_link_request *request,
                       lbd_link_done_fn done, void *userdata);
        void (*activate)(void *plugin_data, const char *ifname, lbd_link_done_fn done,
                         void *userdata);
        void (*deactivate)(void *plugin_data, const char *ifname, lbd_link_done_fn done,
                           void *userdata);
        /* Delete the controller's profile and its ports' profiles. */
        void (*remove)(void *plugin_data, const char *ifname, lbd_link_done_fn done,
                       void *userdata);
        void *reserved[4];
};

/* ---- the descriptor ---------------------------------------------------- */

struct lbd_plugin_descriptor {
        uint32_t abi_version; /* LBD_PLUGIN_ABI_VERSION */
        uint32_t struct_size; /* sizeof(struct lbd_plugin_descriptor) */
        uint32_t kind;        /* enum lbd_plugin_kind */
        uint32_t flags;       /* enum lbd_plugin_flags */
        const char *name;
        const char *description; /* one line, shown in ListPlugins */

        /* Optional. Called once in the master after the plugin is accepted.
         * Return 0, or a negative errno to be refused (the daemon logs it and
         * goes on without the plugin). *plugin_data is passed to every op. */
        int (*init)(const struct lbd_host *host, void **plugin_data);
        /* Optional. Undo init(). */
        void (*fini)(void *plugin_data);

        /* The operation table of the plugin's kind; which member is valid
         * follows from kind. */
        union {
                const struct lbd_worker_ops *worker;
                const struct lbd_policy_ops *policy;
                const struct lbd_network_ops *network;
                const void *any;
        } ops;

        void *reserved[8];
};

typedef const struct lbd_plugin_descriptor *(*lbd_plugin_entry_fn)(void);

/* Declares the entry point. Use once per plugin, at file scope:
 *     LBD_PLUGIN_DEFINE(my_descriptor);                                   */
#define LBD_PLUGIN_DEFINE(descriptor)                                                        \
        __attribute__((visibility("default"))) const struct lbd_plugin_descriptor *          \
        LBD_PLUGIN_ENTRY(void);                                                              \
        const struct lbd_plugin_descriptor *LBD_PLUGIN_ENTRY(void) { return &(descriptor); } \
        struct lbd_plugin_define_needs_semicolon

/* A plugin's descriptor and entry point in one line at file scope, for
 * the usual plugin: one kind, no flags (nginx's NGX_MODULE_V1 fills the
 * same kind of boilerplate). init and fini may be NULL; ops is the kind's
 * operation table (an object, not a pointer):
 *     LBD_POLICY_PLUGIN("my_policy", "What it does, in one line", my_ops,
 *                       NULL, NULL);                                       */
#define LBD_PLUGIN_DESCRIPTOR_(kind_, member_, name_, description_, ops_, init_, fini_) \
        static const struct lbd_plugin_descriptor lbd_plugin_descriptor_ = {          \
                .abi_version = LBD_PLUGIN_ABI_VERSION,                                \
                .struct_size = sizeof(struct lbd_plugin_descriptor),                  \
                .kind = (kind_),                                                      \
                .name = (name_),                                                      \
                .description = (description_),                                        \
                .init = (init_),                                                      \
                .fini = (fini_),                                                      \
                .ops = { .member_ = &(ops_) },                                        \
        };                                                                            \
        LBD_PLUGIN_DEFINE(lbd_plugin_descriptor_)

#define LBD_WORKER_PLUGIN(name, description, ops, init, fini) \
        LBD_PLUGIN_DESCRIPTOR_(LBD_PLUGIN_KIND_WORKER, worker, name, description, ops, init, fini)
#define LBD_POLICY_PLUGIN(name, description, ops, init, fini) \
        LBD_PLUGIN_DESCRIPTOR_(LBD_PLUGIN_KIND_POLICY, policy, name, description, ops, init, fini)
#define LBD_NETWORK_PLUGIN(name, description, ops, init, fini) \
        LBD_PLUGIN_DESCRIPTOR_(LBD_PLUGIN_KIND_NETWORK, network, name, description, ops, init, \
                               fini)

#ifdef __cplusplus
}
#endif
