/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader (see plugin-loader.h for what it promises).
 *
 * Each file goes through the same steps, in this order, and the first that
 * fails refuses it with one sentence (logged as "plugin FILE refused:
 * REASON" and kept in the set's refusal list):
 *
 *   1. the directory listing: only names ending in ".so" are considered; a
 *      file name already seen in a higher-priority directory shadows this
 *      one, which is then never opened;
 *   2. the file: lstat() says it is a regular file (symlinks are not
 *      followed), open(O_NOFOLLOW) and fstat() of that fd say it is still
 *      the same inode; unless allow_insecure, it and its directory are owned
 *      by root and writable by nobody else, and it is not setuid/setgid;
 *   3. the ELF header, read from that fd: an ELF shared object of this
 *      process's class and byte order (not an executable, PIE or not);
 *   4. dlopen(RTLD_NOW | RTLD_LOCAL): every symbol it needs resolves now;
 *   5. the entry point and the descriptor it returns: ABI version, sizes,
 *      kind, name, description, operation table;
 *   6. the name: names are global across kinds; a name already loaded from
 *      a higher-priority directory overrides this plugin (skipped, not
 *      refused), one already loaded from the same directory is a conflict;
 *   7. init().
 *
 * dlopen() gets the path, not /proc/self/fd/N. The fd is what the checks
 * look at; between them and dlopen() only someone who can write to the
 * directory (root: checked in step 2) or one above it could swap the file.
 * Loading through /proc/self/fd/N would close that window but costs more
 * than it buys: glibc records "/proc/self/fd/N" as the object's name, so
 * gdb, dladdr() and sanitizer reports lose the plugin's path, and glibc
 * matches later dlopen() calls by that name first, so a reused fd number
 * would return a different, earlier object.
 *
 * Directories are processed highest priority (last) first, so that a plugin
 * is only initialized once it is known to win; inside a directory files go
 * in byte order of their names.
 *
 * No global state: everything lives in the set or in one load's context.
 */
#include "plugin-loader.h"

#include "plugin-set-private.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "cleanup.h"

/* The size of an ABI-1 struct: everything up to the end of its reserved
 * slots. Members appended later go after them, so this stays the smallest
 * size the daemon accepts from an ABI-1 plugin. */
#define ABI1_SIZE(type) (offsetof(type, reserved) + sizeof(((type *)NULL)->reserved))

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* What one lbd_plugin_set_load() call works with. */
struct load_context {
        const struct lbd_plugin_loader_options *options;
        const char *const *dirs;
        struct lbd_plugin_set *set;
        /* file names seen in higher-priority directories -> their path */
        GHashTable *seen_files;
        /* struct dir_id of the directories already loaded */
        GArray *seen_dirs;
};

struct dir_id {
        dev_t dev;
        ino_t ino;
};

static inline void dlclosep(void **handle) {
        if (*handle)
                dlclose(*handle);
}

/* desc: the plugin's descriptor once it was found sane, else NULL. */
static void refuse_plugin(struct load_context *c, const char *path,
                          const struct lbd_plugin_descriptor *desc, char *reason) {
        struct lbd_plugin_refusal *r = g_new0(struct lbd_plugin_refusal, 1);
        r->path = g_strdup(path);
        r->reason = reason;
        if (desc) {
                r->name = g_strdup(desc->name);
                r->kind = (enum lbd_plugin_kind)desc->kind;
        }
        log_warning("plugin %s refused: %s", path, reason);
        g_ptr_array_add(c->set->refusals, r);
}

static void refuse(struct load_context *c, const char *path, char *reason) {
        refuse_plugin(c, path, NULL, reason);
}

/* ---- the default host --------------------------------------------------- */

static void host_log(const struct lbd_host *host, int priority, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void host_log(const struct lbd_host *host, int priority, const char *format, ...) {
        const struct plugin_entry *e = container_of(host, const struct plugin_entry, host);
        va_list ap;
        va_start(ap, format);
        log_fullv(priority & LOG_PRIMASK, e->pub.desc->name, format, ap);
        va_end(ap);
}

static void host_init_error(const struct lbd_host *host, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void host_init_error(const struct lbd_host *host, const char *format, ...) {
        struct plugin_entry *e = container_of(host, struct plugin_entry, host);
        va_list ap;
        va_start(ap, format);
        g_free(e->init_error);
        e->init_error = g_strdup_vprintf(format, ap);
        va_end(ap);
}

static void *host_get_shared(const struct lbd_host *host, const char *key) {
        const struct plugin_entry *e = container_of(host, const struct plugin_entry, host);
        return lbd_shared_get(e->shared, key);
}

static int host_set_shared(const struct lbd_host *host, const char *key, void *object,
                           void (*destroy)(void *object)) {
        const struct plugin_entry *e = container_of(host, const struct plugin_entry, host);
        return lbd_shared_set(e->shared, key, object, destroy);
}

static int host_set_shared_private_fds(const struct lbd_host *host, const char *key,
                                       size_t (*fds)(void *object, int *fds, size_t max)) {
        const struct plugin_entry *e = container_of(host, const struct plugin_entry, host);
        return lbd_shared_set_private_fds(e->shared, key, fds);
}

/* ---- step 2: the file and its directory --------------------------------- */

/* Owned by root, writable by nobody else (the group bits are also the ACL
 * mask, so an ACL granting anyone write access fails too). what is "" for
 * the file itself, "directory DIR " for its directory. */
static char *check_ownership(const struct stat *st, const char *what) {
        if (st->st_uid != 0)
                return g_strdup_printf("%sowned by uid %u, not root", what, (unsigned)st->st_uid);
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return g_strdup_printf("%swritable by group or others (mode %04o)", what,
                                       (unsigned)(st->st_mode & 07777));
        if (st->st_mode & (S_ISUID | S_ISGID))
                return g_strdup_printf("%ssetuid or setgid (mode %04o)", what,
                                       (unsigned)(st->st_mode & 07777));
        return NULL;
}

/* Open the file without following a symlink and check what the fd refers
 * to. On success returns NULL and the fd in *ret_fd. */
static char *open_file(struct load_context *c, int dir_fd, const char *name, int *ret_fd) {
        struct stat lst, st;
        if (fstatat(dir_fd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                return g_strdup_printf("cannot stat it: %s", g_strerror(errno));
        if (!S_ISREG(lst.st_mode))
                return g_strdup("not a regular file (symlinks are not followed)");

        _cleanup_close_ int fd =
                openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return g_strdup_printf("cannot open it: %s", g_strerror(errno));
        if (fstat(fd, &st) < 0)
                return g_strdup_printf("cannot stat it: %s", g_strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_dev != lst.st_dev || st.st_ino != lst.st_ino)
                return g_strdup("it was replaced while being checked");

        if (!c->options->allow_insecure) {
                char *reason = check_ownership(&st, "");
                if (reason)
                        return reason;
        }
        *ret_fd = fd;
        fd = -1;
        return NULL;
}

/* ---- step 3: the ELF header --------------------------------------------- */

#if __ELF_NATIVE_CLASS == 64
#define NATIVE_ELFCLASS ELFCLASS64
#else
#define NATIVE_ELFCLASS ELFCLASS32
#endif
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define NATIVE_ELFDATA ELFDATA2LSB
#else
#define NATIVE_ELFDATA ELFDATA2MSB
#endif

static bool read_exactly(int fd, void *buf, size_t size, uint64_t offset) {
        if (offset > (uint64_t)INT64_MAX - size)
                return false;
        ssize_t n = pread(fd, buf, size, (off_t)offset);
        return n >= 0 && (size_t)n == size;
}

/* Whether an ET_DYN object is a position-independent executable: the
 * linker marks those with DF_1_PIE in DT_FLAGS_1 (glibc refuses to dlopen
 * them, with a less helpful message). Returns 1, 0, or -1 when the headers
 * cannot be read. The limits only bound the work on a corrupt file. */
static int elf_is_pie(int fd, const ElfW(Ehdr) *eh) {
        if (eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phnum == 0 || eh->e_phnum > 4096)
                return -1;
        for (unsigned i = 0; i < eh->e_phnum; i++) {
                ElfW(Phdr) ph;
                if (!read_exactly(fd, &ph, sizeof ph, eh->e_phoff + (uint64_t)i * sizeof ph))
                        return -1;
                if (ph.p_type != PT_DYNAMIC)
                        continue;
                size_t n = MIN(ph.p_filesz / sizeof(ElfW(Dyn)), 4096);
                for (size_t j = 0; j < n; j++) {
                        ElfW(Dyn) d;
                        if (!read_exactly(fd, &d, sizeof d, ph.p_offset + (uint64_t)j * sizeof d))
                                return -1;
                        if (d.d_tag == DT_NULL)
                                break;
                        if (d.d_tag == DT_FLAGS_1)
                                return (d.d_un.d_val & DF_1_PIE) ? 1 : 0;
                }
                return 0;
        }
        return 0;
}

static char *check_elf(int fd) {
        ElfW(Ehdr) eh;
        ssize_t n = pread(fd, &eh, sizeof eh, 0);
        if (n < 0)
                return g_strdup_printf("cannot read it: %s", g_strerror(errno));
        if ((size_t)n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
                return g_strdup("not a shared object (no ELF header)");
        if ((size_t)n < sizeof eh)
                return g_strdup("not a shared object (truncated ELF header)");
        if (eh.e_ident[EI_CLASS] != NATIVE_ELFCLASS)
                return g_strdup_printf("is a %s ELF object, this lbd is %d-bit",
                                       eh.e_ident[EI_CLASS] == ELFCLASS32   ? "32-bit"
                                       : eh.e_ident[EI_CLASS] == ELFCLASS64 ? "64-bit"
                                                                            : "invalid",
                                       __ELF_NATIVE_CLASS);
        if (eh.e_ident[EI_DATA] != NATIVE_ELFDATA)
                return g_strdup("is an ELF object of the other byte order than this machine's");
        switch (eh.e_type) {
        case ET_DYN:
                break;
        case ET_EXEC:
                return g_strdup("is an ELF executable, not a shared object");
        case ET_REL:
                return g_strdup("is an ELF relocatable object (.o), not a shared object "
                                "(link it with -shared)");
        case ET_CORE:
                return g_strdup("is a core dump, not a shared object");
        default:
                return g_strdup_printf("is an ELF file of type %u, not a shared object",
                                       (unsigned)eh.e_type);
        }
        switch (elf_is_pie(fd, &eh)) {
        case 1:
                return g_strdup("is an ELF executable (position-independent), not a shared object");
        case -1:
                return g_strdup("not a shared object (truncated or corrupt ELF program headers)");
        }
        return NULL;
}

/* ---- step 5: the descriptor --------------------------------------------- */

static bool name_is_valid(const char *name) {
        size_t len = strlen(name);
        if (len == 0 || len > LBD_PLUGIN_NAME_MAX || !g_ascii_islower(name[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '_')
                        return false;
        return true;
}

/* A name that failed name_is_valid(), made safe for one log line. */
static char *printable_name(const char *name) {
        g_autofree char *head = g_strndup(name, 48);
        g_autofree char *escaped = g_strescape(head, NULL);
        return g_strdup_printf("'%s'%s", escaped, strlen(name) > 48 ? "..." : "");
}

/* The leading members every ops struct of ABI 1 shares, and each kind's
 * required operations. */
struct ops_header {
        uint32_t struct_size;
};

static char *check_ops(const struct lbd_plugin_descriptor *d) {
        const char *kind = lbd_plugin_kind_to_string(d->kind);
        if (!d->ops.any)
                return g_strdup_printf("has no operation table (ops.%s is NULL)", kind);

        size_t min_size = 0;
        switch (d->kind) {
        case LBD_PLUGIN_KIND_WORKER:
                min_size = ABI1_SIZE(struct lbd_worker_ops);
                break;
        case LBD_PLUGIN_KIND_POLICY:
                min_size = ABI1_SIZE(struct lbd_policy_ops);
                break;
        case LBD_PLUGIN_KIND_NETWORK:
                min_size = ABI1_SIZE(struct lbd_network_ops);
                break;
        }
        uint32_t size = ((const struct ops_header *)d->ops.any)->struct_size;
        if (size < min_size)
                return g_strdup_printf("its %s operation table is too small (struct_size %u, "
                                       "plugin ABI %u needs at least %zu)",
                                       kind, size, LBD_PLUGIN_ABI_VERSION, min_size);

        const char *missing = NULL;
        switch (d->kind) {
        case LBD_PLUGIN_KIND_WORKER:
                if (!d->ops.worker->run)
                        missing = "run";
                break;
        case LBD_PLUGIN_KIND_POLICY:
                if (!d->ops.policy->pick)
                        missing = "pick";
                break;
        case LBD_PLUGIN_KIND_NETWORK:
                if (!d->ops.network->validate)
                        missing = "validate";
                else if (!d->ops.network->connection_type || !*d->ops.network->connection_type)
                        missing = "connection_type";
                break;
        }
        if (missing)
                return g_strdup_printf("its %s operation table has no %s (it is required)", kind,
                                       missing);
        return NULL;
}

static char *check_descriptor(const struct lbd_plugin_descriptor *d) {
        if (!d)
                return g_strdup(LBD_PLUGIN_ENTRY_SYMBOL "() returned NULL");
        if (d->abi_version != LBD_PLUGIN_ABI_VERSION)
                return g_strdup_printf("built for plugin ABI %u, this lbd uses ABI %u; rebuild "
                                       "it against this lbd's lbd-plugin.h",
                                       d->abi_version, LBD_PLUGIN_ABI_VERSION);
        if (d->struct_size < ABI1_SIZE(struct lbd_plugin_descriptor))
                return g_strdup_printf("its descriptor is too small (struct_size %u, plugin ABI "
                                       "%u needs at least %zu)",
                                       d->struct_size, LBD_PLUGIN_ABI_VERSION,
                                       ABI1_SIZE(struct lbd_plugin_descriptor));
        switch (d->kind) {
        case LBD_PLUGIN_KIND_WORKER:
        case LBD_PLUGIN_KIND_POLICY:
        case LBD_PLUGIN_KIND_NETWORK:
                break;
        default:
                return g_strdup_printf("unknown kind %u (expected 1 worker, 2 policy or 3 network)",
                                       d->kind);
        }
        if (!d->name)
                return g_strdup("has no name (name is NULL)");
        if (!name_is_valid(d->name)) {
                g_autofree char *shown = printable_name(d->name);
                return g_strdup_printf("invalid name %s (a lowercase letter, then lowercase "
                                       "letters, digits or '_', at most %d characters)",
                                       shown, LBD_PLUGIN_NAME_MAX);
        }
        if (!d->description)
                return g_strdup("has no description (description is NULL)");
        return check_ops(d);
}

/* ---- one file ----------------------------------------------------------- */

static int compare_sorted(gconstpointer a, gconstpointer b) {
        const struct plugin_entry *x = *(struct plugin_entry *const *)a;
        const struct plugin_entry *y = *(struct plugin_entry *const *)b;
        if (x->pub.desc->kind != y->pub.desc->kind)
                return x->pub.desc->kind < y->pub.desc->kind ? -1 : 1;
        return strcmp(x->pub.desc->name, y->pub.desc->name);
}

/* Steps 2 to 7 for DIR/NAME. dir_reason, when set, refuses the file for
 * what is wrong with its directory. */
static void load_file(struct load_context *c, size_t dir_index, int dir_fd, const char *name,
                      const char *dir_reason) {
        g_autofree char *path = g_build_filename(c->dirs[dir_index], name, NULL);
        g_autofree char *reason = NULL;

        /* 2: the file, then its directory; 3: its ELF header */
        _cleanup_close_ int fd = -1;
        reason = open_file(c, dir_fd, name, &fd);
        if (!reason && dir_reason)
                reason = g_strdup(dir_reason);
        if (!reason)
                reason = check_elf(fd);
        if (reason) {
                refuse(c, path, g_steal_pointer(&reason));
                return;
        }

        /* 4 */
        void *handle _cleanup_(dlclosep) = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                const char *e = dlerror();
                refuse(c, path, g_strdup_printf("dlopen failed: %s", e ? e : "unknown error"));
                return;
        }

        /* 5 */
        dlerror();
        lbd_plugin_entry_fn entry = (lbd_plugin_entry_fn)dlsym(handle, LBD_PLUGIN_ENTRY_SYMBOL);
        if (!entry) {
                refuse(c, path,
                       g_strdup("does not export " LBD_PLUGIN_ENTRY_SYMBOL
                                " (not an lbd plugin?)"));
                return;
        }
        const struct lbd_plugin_descriptor *desc = entry();
        if ((reason = check_descriptor(desc))) {
                refuse(c, path, g_steal_pointer(&reason));
                return;
        }

        /* 6: dirs go highest priority first, so a holder of the name from
         * another directory outranks this file. */
        struct plugin_entry *holder = lbd_plugin_set_find_name(c->set, desc->name);
        if (holder && holder->dir_index != dir_index) {
                log_info("plugin %s from %s overridden by %s", desc->name, path,
                         holder->pub.path);
                return;
        }
        if (holder) {
                refuse(c, path,
                       g_strdup_printf("duplicate plugin name '%s', already loaded from %s",
                                       desc->name, holder->pub.path));
                return;
        }

        /* 7 */
        g_autoptr(plugin_entry) e = g_new0(struct plugin_entry, 1);
        e->host = (struct lbd_host){
                .abi_version = LBD_PLUGIN_ABI_VERSION,
                .struct_size = sizeof(struct lbd_host),
                .log = host_log,
                .get_shared = host_get_shared,
                .set_shared = host_set_shared,
                .init_error = host_init_error,
                .set_shared_private_fds = host_set_shared_private_fds,
        };
        e->shared = c->options->shared;
        e->pub.desc = desc;
        e->pub.path = g_strdup(path);
        e->pub.handle = g_steal_pointer(&handle);
        e->dir_index = dir_index;
        if (desc->init) {
                const struct lbd_host *host = c->options->host ? c->options->host : &e->host;
                int r = desc->init(host, &e->pub.data);
                if (r < 0) {
                        refuse_plugin(c, path, desc,
                                      e->init_error ? g_strdup_printf("init failed: %s",
                                                                      e->init_error)
                                                    : g_strdup_printf("init failed: %s",
                                                                      g_strerror(-r)));
                        return;
                }
        }
        e->initialized = true;

        log_info("plugin %s (%s) loaded from %s", desc->name,
                 lbd_plugin_kind_to_string(desc->kind), path);
        if (desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER)
                log_info("plugin %s is a placeholder: not built yet", desc->name);
        g_ptr_array_add(c->set->loaded, g_steal_pointer(&e));
}

/* ---- one directory ------------------------------------------------------ */

static int compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_plugin_file_name(const char *name) {
        return name[0] != '.' && g_str_has_suffix(name, ".so");
}

static void load_dir(struct load_context *c, size_t dir_index) {
        const char *dir = c->dirs[dir_index];

        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        log_debug("plugin directory %s does not exist; skipping it", dir);
                        return;
                }
                refuse(c, dir, g_strdup_printf("cannot open the plugin directory: %s",
                                               g_strerror(errno)));
                return;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                refuse(c, dir, g_strdup_printf("cannot stat the plugin directory: %s",
                                               g_strerror(errno)));
                return;
        }
        for (guint i = 0; i < c->seen_dirs->len; i++) {
                const struct dir_id *id = &g_array_index(c->seen_dirs, struct dir_id, i);
                if (id->dev == st.st_dev && id->ino == st.st_ino) {
                        log_debug("plugin directory %s was given more than once; loading it once",
                                  dir);
                        return;
                }
        }
        g_array_append_val(c->seen_dirs, ((struct dir_id){ st.st_dev, st.st_ino }));

        g_autofree char *dir_reason = NULL;
        if (!c->options->allow_insecure) {
                g_autofree char *what = g_strdup_printf("directory %s is ", dir);
                dir_reason = check_ownership(&st, what);
        }

        /* closedir() closes the fd it was made from: give it a copy. */
        int listing_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        _cleanup_closedir_ DIR *d = listing_fd >= 0 ? fdopendir(listing_fd) : NULL;
        if (!d) {
                int saved = errno;
                if (listing_fd >= 0)
                        close(listing_fd);
                refuse(c, dir, g_strdup_printf("cannot read the plugin directory: %s",
                                               g_strerror(saved)));
                return;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (!is_plugin_file_name(de->d_name)) {
                        log_debug("ignoring %s/%s: not named *.so", dir, de->d_name);
                        continue;
                }
                g_ptr_array_add(names, g_strdup(de->d_name));
        }
        if (errno != 0) {
                refuse(c, dir, g_strdup_printf("cannot read the plugin directory: %s",
                                               g_strerror(errno)));
                return;
        }
        g_ptr_array_sort(names, compare_strings);

        for (guint i = 0; i < names->len; i++) {
                const char *name = names->pdata[i];
                const char *winner = g_hash_table_lookup(c->seen_files, name);
                if (winner) {
                        log_info("plugin file %s/%s is shadowed by %s; not opening it", dir,
                                 name, winner);
                        continue;
                }
                load_file(c, dir_index, fd, name, dir_reason);
        }
        /* Only now: the shadowing is between directories, never inside one. */
        for (guint i = 0; i < names->len; i++)
                if (!g_hash_table_contains(c->seen_files, names->pdata[i]))
                        g_hash_table_insert(c->seen_files, g_strdup(names->pdata[i]),
                                            g_build_filename(dir, names->pdata[i], NULL));
}

int lbd_plugin_set_load(const char *const *dirs, size_t n_dirs,
                        const struct lbd_plugin_loader_options *options,
                        struct lbd_plugin_set **ret) {
        static const struct lbd_plugin_loader_options default_options = { 0 };
        if ((!dirs && n_dirs > 0) || !ret)
                return -EINVAL;

        struct lbd_plugin_set *set = g_new0(struct lbd_plugin_set, 1);
        set->loaded = g_ptr_array_new();
        set->sorted = g_ptr_array_new();
        set->refusals = g_ptr_array_new_with_free_func(lbd_plugin_refusal_free);
        _cleanup_plugin_set_ struct lbd_plugin_set *owned = set;

        g_autoptr(GHashTable) seen_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                                 g_free);
        g_autoptr(GArray) seen_dirs = g_array_new(FALSE, FALSE, sizeof(struct dir_id));
        struct load_context c = {
                .options = options ? options : &default_options,
                .dirs = dirs,
                .set = set,
                .seen_files = seen_files,
                .seen_dirs = seen_dirs,
        };
        for (size_t i = n_dirs; i > 0; i--)
                load_dir(&c, i - 1);

        for (guint i = 0; i < set->loaded->len; i++)
                g_ptr_array_add(set->sorted, set->loaded->pdata[i]);
        g_ptr_array_sort(set->sorted, compare_sorted);

        *ret = g_steal_pointer(&owned);
        return 0;
}
