/* SPDX-License-Identifier: MIT */
/*
 * lbd-plugin.h — the public interface between lbd and its plugins.
 *
 * This is the only header a plugin author needs. It is installed as
 * <lbd/lbd-plugin.h> together with lbd-plugin.pc, so a plugin can be built
 * outside lbd's source tree:
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change to any struct in this file. */
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
};

/* ---- worker plugins ---------------------------------------------------- */

/* Opaque: one worker process's view of the proxy engine (listeners,
 * sessions, heartbeat). Defined by the data-plane work; worker plugins only
 * drive it through the operations the host gives them. */
struct lbd_worker;

struct lbd_worker_ops {
        uint32_t struct_size;
        /* Serve connections in this worker process until the worker is told
         * to stop. Returns 0 on a clean stop, a negative errno otherwise. */
        int (*run)(void *plugin_data, struct lbd_worker *worker);
        void *reserved[4];
};

/* ---- policy plugins ---------------------------------------------------- */

/* Opaque: one service's pool of backends in the shared backend table. */
struct lbd_pool;

/* One pick. The host fills it in; the policy answers with an index. */
struct lbd_pick {
        uint32_t struct_size;
        struct lbd_pool *pool;
        /* Client address (network byte order, as in sockaddr), for affinity. */
        const void *client_addr;
        uint32_t client_addr_len;
        /* Bitmap of backends already tried for this request (retries). */
        const uint64_t *tried;
        uint32_t tried_words;
};

struct lbd_policy_ops {
        uint32_t struct_size;
        /* Return the index of the chosen backend in pick->pool, or a
         * negative errno (-EAGAIN: no usable backend). Called in workers on
         * the hot path: it must not block or allocate. */
        int (*pick)(void *plugin_data, const struct lbd_pick *pick);
        void *reserved[4];
};

/* ---- network plugins --------------------------------------------------- */

/* Opaque: a link request being built (interface name, ports, options). */
struct lbd_link_request;

struct lbd_network_ops {
        uint32_t struct_size;
        /* NetworkManager connection type this plugin makes ("bond", "team"). */
        const char *connection_type;
        /* Check a request before NetworkManager sees it. On failure return a
         * negative errno and set *error_message to a malloc()ed sentence
         * saying what was wrong and what is allowed. */
        int (*validate)(void *plugin_data, const struct lbd_link_request *request,
                        char **error_message);
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

#ifdef __cplusplus
}
#endif
