/* SPDX-License-Identifier: MIT */
/*
 * Test plugins for the loader, good and deliberately broken. One source,
 * compiled once per fixture with the FX_* macros meson.build sets:
 *
 *   FX_KIND=n            descriptor kind (1 worker, 2 policy, 3 network, or
 *                        anything else for an unknown kind)
 *   FX_NAME="x"          plugin name (FX_NULL_NAME: NULL)
 *   FX_DESCRIPTION="x"   description (FX_NULL_DESCRIPTION: NULL)
 *   FX_ABI=n             abi_version (default: this header's)
 *   FX_STRUCT_SIZE=n     descriptor struct_size (default: sizeof)
 *   FX_PLACEHOLDER       set LBD_PLUGIN_FLAG_PLACEHOLDER
 *   FX_INIT_FAILS        init() returns -EADDRINUSE
 *   FX_NO_ENTRY          export another symbol instead of the entry point
 *   FX_ENTRY_NULL        the entry point returns NULL
 *   FX_NULL_OPS          no operation table
 *   FX_SMALL_OPS         operation table with struct_size 4
 *   FX_NO_OP             the kind's required operation is NULL
 *   FX_NO_CONNECTION_TYPE  network plugin without connection_type
 *   FX_UNDEFINED_SYMBOL  needs a symbol nothing defines (dlopen fails)
 *
 * init() and fini() log "init NAME" and "fini NAME" through the host, so a
 * test can see which plugins were initialized and in which order they were
 * finished.
 */
#include <errno.h>
#include <stddef.h>
#include <syslog.h>

#include "lbd-plugin.h"

#ifndef FX_ABI
#define FX_ABI LBD_PLUGIN_ABI_VERSION
#endif
#ifndef FX_STRUCT_SIZE
#define FX_STRUCT_SIZE sizeof(struct lbd_plugin_descriptor)
#endif
#ifndef FX_DESCRIPTION
#define FX_DESCRIPTION "a test plugin"
#endif
#ifdef FX_NULL_NAME
#define FX_NAME_VALUE NULL
#define FX_NAME_STRING "(null)"
#else
#define FX_NAME_VALUE FX_NAME
#define FX_NAME_STRING FX_NAME
#endif

#ifdef FX_UNDEFINED_SYMBOL
/* Defined nowhere: with RTLD_NOW, dlopen() must fail. */
extern int lbd_fixture_undefined_function(void);
#define TOUCH_UNDEFINED() (void)lbd_fixture_undefined_function()
#else
#define TOUCH_UNDEFINED() (void)0
#endif

static const struct lbd_host *saved_host;

static int fx_init(const struct lbd_host *host, void **data) {
        TOUCH_UNDEFINED();
        saved_host = host;
        *data = (void *)&saved_host;
        host->log(host, LOG_INFO, "init %s", FX_NAME_STRING);
#ifdef FX_INIT_FAILS
        return -EADDRINUSE;
#else
        return 0;
#endif
}

static void fx_fini(void *data) {
        if (data == &saved_host && saved_host)
                saved_host->log(saved_host, LOG_INFO, "fini %s", FX_NAME_STRING);
        saved_host = NULL;
}

#ifdef FX_SMALL_OPS
#define OPS_SIZE(type) 4u
#else
#define OPS_SIZE(type) sizeof(type)
#endif

#ifdef FX_NO_OP
#define OP(f) NULL
#else
#define OP(f) f
#endif

/* Each fixture uses only some of what follows. */
#define UNUSED_OK __attribute__((unused))

static UNUSED_OK int fx_run(void *data, const struct lbd_worker_host *host,
                            struct lbd_worker *worker) {
        return 0;
}
static UNUSED_OK int fx_pick(void *data, const struct lbd_pick *pick) { return 0; }
static UNUSED_OK int fx_validate(void *data, const struct lbd_link_request *request,
                                 char **error_message) {
        return 0;
}

static UNUSED_OK const struct lbd_worker_ops worker_ops = {
        .struct_size = OPS_SIZE(struct lbd_worker_ops),
        .run = OP(fx_run),
};
static UNUSED_OK const struct lbd_policy_ops policy_ops = {
        .struct_size = OPS_SIZE(struct lbd_policy_ops),
        .pick = OP(fx_pick),
};
static UNUSED_OK const struct lbd_network_ops network_ops = {
        .struct_size = OPS_SIZE(struct lbd_network_ops),
#ifdef FX_NO_CONNECTION_TYPE
        .connection_type = NULL,
#else
        .connection_type = "bond",
#endif
        .validate = OP(fx_validate),
};

static const struct lbd_plugin_descriptor descriptor = {
        .abi_version = FX_ABI,
        .struct_size = FX_STRUCT_SIZE,
        .kind = FX_KIND,
#ifdef FX_PLACEHOLDER
        .flags = LBD_PLUGIN_FLAG_PLACEHOLDER,
#endif
        .name = FX_NAME_VALUE,
#ifdef FX_NULL_DESCRIPTION
        .description = NULL,
#else
        .description = FX_DESCRIPTION,
#endif
        .init = fx_init,
        .fini = fx_fini,
#if defined(FX_NULL_OPS)
        .ops = { .any = NULL },
#elif FX_KIND == 1
        .ops = { .worker = &worker_ops },
#elif FX_KIND == 2
        .ops = { .policy = &policy_ops },
#else
        .ops = { .network = &network_ops },
#endif
};

#if defined(FX_NO_ENTRY)
/* Looks like a plugin, but under the wrong name. */
__attribute__((visibility("default"))) const struct lbd_plugin_descriptor *
lbd_plugin_get_descriptor_v2(void);
const struct lbd_plugin_descriptor *lbd_plugin_get_descriptor_v2(void) { return &descriptor; }
#elif defined(FX_ENTRY_NULL)
__attribute__((visibility("default"))) const struct lbd_plugin_descriptor *LBD_PLUGIN_ENTRY(void);
const struct lbd_plugin_descriptor *LBD_PLUGIN_ENTRY(void) {
        (void)descriptor;
        return NULL;
}
#else
LBD_PLUGIN_DEFINE(descriptor);
#endif
