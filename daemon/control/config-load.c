/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration: each source (main file or embedded default,
 * then the drop-ins) is parsed as a GKeyFile and applied key by key to one
 * struct lbd_config, so every value is validated while we still know which
 * file it came from. Checks that need the merged result run at the end.
 */
#include "config-files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config-keys.h"
#include "reason.h"

/* A configuration file is a few kilobytes; anything near this is a mistake
 * (a log file passed as --config), not a configuration. */
#define CONFIG_FILE_SIZE_MAX (16u * 1024u * 1024u)

/* ---- sources -------------------------------------------------------------- */

struct loader {
        struct lbd_config *config;
        GHashTable *group_origins; /* group -> the file that introduced it */
        /* Values go through here after their comment is cut, so that
         * GKeyFile's own unescaping and list splitting apply to what is
         * left. */
        GKeyFile *scratch;
        /* The source being applied is the state file: [service NAME]
         * removed=true is allowed (lbd_config_load_state()). */
        bool state_source;
};

static void loader_done(struct loader *l) {
        g_clear_pointer(&l->config, lbd_config_free);
        g_clear_pointer(&l->group_origins, g_hash_table_unref);
        g_clear_pointer(&l->scratch, g_key_file_unref);
}

static void loader_init(struct loader *l) {
        *l = (struct loader){
                .config = lbd_config_new(),
                .group_origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
                .scratch = g_key_file_new(),
        };
}

static int key_error(char **ret_reason, const char *file, const char *group, const char *key,
                     const char *detail) {
        return lbd_reason(ret_reason, -EINVAL, "%s: [%s] %s: %s", file, group, key, detail);
}

static int group_error(char **ret_reason, const char *file, const char *group,
                       const char *detail) {
        return lbd_reason(ret_reason, -EINVAL, "%s: [%s]: %s", file, group, detail);
}

static bool key_file_parses(const char *data, gsize len) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        return g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, NULL);
}

/* The 1-based line of data where GKeyFile's parse fails. GLib does not say;
 * but a parse error stays an error when lines are added after it, so a
 * binary search over prefixes of whole lines finds the first failing one.
 * Only on the error path. 0 when the text parses after all. */
static unsigned find_parse_error_line(const char *data, gsize len) {
        g_autoptr(GArray) ends = g_array_new(false, false, sizeof(gsize));
        for (gsize i = 0; i < len; i++)
                if (data[i] == '\n' || i + 1 == len) {
                        gsize end = i + 1;
                        g_array_append_val(ends, end);
                }
#define PREFIX_LEN(n_lines) g_array_index(ends, gsize, (n_lines) - 1)

        if (ends->len == 0 || key_file_parses(data, PREFIX_LEN(ends->len)))
                return 0;
        guint lo = 1, hi = ends->len; /* the first failing prefix has lo..hi lines */
        while (lo < hi) {
                guint mid = lo + (hi - lo) / 2;
                if (key_file_parses(data, PREFIX_LEN(mid)))
                        lo = mid + 1;
                else
                        hi = mid;
        }
#undef PREFIX_LEN
        return lo;
}

static unsigned line_of_offset(const char *data, gsize offset) {
        unsigned line = 1;
        for (gsize i = 0; i < offset; i++)
                if (data[i] == '\n')
                        line++;
        return line;
}

static int apply_key(struct loader *l, const char *file, const char *group, const char *key,
                     const char *raw, void *base, const struct key_def *def, char **ret_reason) {
        g_autofree char *value = g_strdup(raw);
        config_strip_inline_comment(value);

        g_key_file_set_value(l->scratch, "v", "v", value);
        g_autofree char *text = NULL;
        g_auto(GStrv) items = NULL;
        /* GKeyFile may return a value and set an error (for an unknown
         * escape it returns the raw text): only the error counts. */
        g_autoptr(GError) unescape_error = NULL;
        if (config_key_is_list(def)) {
                g_auto(GStrv) raw_items = g_key_file_get_string_list(l->scratch, "v", "v", NULL,
                                                                       &unescape_error);
                if (raw_items && !unescape_error) {
                        g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
                        for (char **i = raw_items; *i; i++) {
                                g_strstrip(*i);
                                if (**i)
                                        g_ptr_array_add(a, g_strdup(*i));
                        }
                        g_ptr_array_add(a, NULL);
                        items = (char **)g_ptr_array_free(g_steal_pointer(&a), false);
                }
        } else {
                text = g_key_file_get_string(l->scratch, "v", "v", &unescape_error);
                if (text)
                        g_strstrip(text);
        }
        if (unescape_error || (!text && !items)) {
                g_autofree char *detail = g_strdup_printf(
                        "'%s' contains an invalid escape sequence; expected only \\s \\n \\t "
                        "\\r \\\\%s",
                        value, config_key_is_list(def) ? " \\;" : "");
                return key_error(ret_reason, file, group, key, detail);
        }

        g_autofree char *detail = NULL;
        if (!config_apply_value(def, text ? text : value, items, base, &detail))
                return key_error(ret_reason, file, group, key, detail);

        g_hash_table_replace(l->config->origins, lbd_config_origin_key(group, key), g_strdup(file));
        return 0;
}

/* Forgets every origin of group ("service web\n..."). */
static void forget_origins(GHashTable *origins, const char *group) {
        g_autofree char *prefix = g_strconcat(group, "\n", NULL);
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, origins);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (g_str_has_prefix(key, prefix))
                        g_hash_table_iter_remove(&it);
}

/* [service NAME] removed=true: a service removed at run time (state file
 * only). It must stand alone in its group; removing a service that the
 * configuration no longer has is not an error (the files changed since). */
static int apply_removed(struct loader *l, GKeyFile *kf, const char *file, const char *group,
                         const char *name, char **ret_reason) {
        if (!l->state_source)
                return key_error(ret_reason, file, group, "removed",
                                 "only the state file lbd writes may remove a service; "
                                 "expected the group deleted from the configuration instead");

        gsize n = 0;
        g_auto(GStrv) keys = g_key_file_get_keys(kf, group, &n, NULL);
        if (!keys || n != 1)
                return key_error(ret_reason, file, group, "removed",
                                 "a removed service has no other keys; expected removed=true "
                                 "alone in its group");

        g_autofree char *value = g_key_file_get_value(kf, group, "removed", NULL);
        config_strip_inline_comment(value);
        if (strcmp(value, "true") != 0) {
                g_autofree char *detail =
                        g_strdup_printf("'%s' is not valid here; expected removed=true", value);
                return key_error(ret_reason, file, group, "removed", detail);
        }

        const struct lbd_service_config *s = lbd_config_find_service(l->config, name);
        if (s)
                g_ptr_array_remove(l->config->services, (gpointer)s);
        forget_origins(l->config->origins, group);
        g_hash_table_remove(l->group_origins, group);
        return 0;
}

static int apply_group(struct loader *l, GKeyFile *kf, const char *file, const char *group,
                       char **ret_reason) {
        const struct key_def *keys, *other_keys;
        size_t n_keys, n_other_keys;
        const char *other_group;
        void *base;

        if (strcmp(group, "daemon") == 0) {
                keys = config_daemon_keys.keys, n_keys = config_daemon_keys.n;
                other_keys = config_service_keys.keys, n_other_keys = config_service_keys.n;
                other_group = "[service NAME]";
                base = &l->config->daemon;
        } else if (strcmp(group, "admin") == 0) {
                keys = config_admin_keys.keys, n_keys = config_admin_keys.n;
                other_keys = config_daemon_keys.keys, n_other_keys = config_daemon_keys.n;
                other_group = "[daemon]";
                base = &l->config->daemon;
        } else if (g_str_has_prefix(group, "service ") || strcmp(group, "service") == 0) {
                const char *name = group + strlen("service");
                if (*name == ' ')
                        name++;
                if (*name == '\0')
                        return group_error(ret_reason, file, group,
                                           "a service group needs a name; expected "
                                           "[service NAME]");
                if (!lbd_service_name_is_valid(name)) {
                        g_autofree char *detail = g_strdup_printf(
                                "'%s' is not a valid service name; expected 1-64 letters, "
                                "digits, '_' or '-'",
                                name);
                        return group_error(ret_reason, file, group, detail);
                }

                if (g_key_file_has_key(kf, group, "removed", NULL))
                        return apply_removed(l, kf, file, group, name, ret_reason);

                struct lbd_service_config *s =
                        (struct lbd_service_config *)lbd_config_find_service(l->config, name);
                if (!s) {
                        s = lbd_service_config_new(name);
                        g_ptr_array_add(l->config->services, s);
                        g_hash_table_replace(l->group_origins, g_strdup(group), g_strdup(file));
                }
                keys = config_service_keys.keys, n_keys = config_service_keys.n;
                other_keys = config_daemon_keys.keys, n_other_keys = config_daemon_keys.n;
                other_group = "[daemon]";
                base = s;
        } else {
                /* "Service web", "servce web" → [service web]; "deamon" → [daemon]. */
                g_autofree char *first = g_strndup(group, strcspn(group, " "));
                const char *rest = group + strlen(first);
                g_autofree char *lower = g_ascii_strdown(first, -1);
                static const char *const kinds[] = { "daemon", "service", "admin" };
                const char *kind = config_suggest(lower, kinds, G_N_ELEMENTS(kinds));
                g_autofree char *hint = kind ? g_strdup_printf(" (did you mean [%s%s]?)", kind,
                                                               strcmp(kind, "service") != 0 ? "" :
                                                                                              rest) :
                                               g_strdup("");
                g_autofree char *detail = g_strdup_printf(
                        "unknown group%s; expected [daemon], [admin] or [service NAME]", hint);
                return group_error(ret_reason, file, group, detail);
        }

        gsize n = 0;
        g_auto(GStrv) names = g_key_file_get_keys(kf, group, &n, NULL);
        for (gsize i = 0; i < n; i++) {
                const char *key = names[i];
                const struct key_def *def = config_find_key(keys, n_keys, key);
                if (!def) {
                        g_autofree char *detail = NULL;
                        if (config_find_key(other_keys, n_other_keys, key))
                                detail = g_strdup_printf("unknown key in [%s]; expected it in a "
                                                         "%s group",
                                                         keys == config_service_keys.keys
                                                                 ? "service"
                                                                 : group,
                                                         other_group);
                        else {
                                const char *candidates[CONFIG_KEYS_MAX];
                                for (size_t k = 0; k < n_keys; k++)
                                        candidates[k] = keys[k].name;
                                g_autofree char *hint =
                                        config_did_you_mean(key, candidates, n_keys);
                                g_autoptr(GString) all = g_string_new(NULL);
                                for (size_t k = 0; k < n_keys; k++)
                                        g_string_append_printf(all, "%s%s", k ? ", " : "",
                                                               keys[k].name);
                                detail = g_strdup_printf("unknown key%s; expected one of %s",
                                                         hint, all->str);
                        }
                        return key_error(ret_reason, file, group, key, detail);
                }

                g_autofree char *raw = g_key_file_get_value(kf, group, key, NULL);
                int r = apply_key(l, file, group, key, raw ? raw : "", base, def, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* GKeyFile takes "key[locale]=" as a translation of key= and hides it from
 * g_key_file_get_keys(), so a typo such as "user[0]=" would vanish
 * silently. Find such lines ourselves (data has parsed, so every line is a
 * comment, a group or a key). */
static int check_localized_keys(const char *data, const char *file, char **ret_reason) {
        g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
        g_autofree char *group = NULL;

        for (char **line = lines; *line; line++) {
                const char *p = *line;
                while (g_ascii_isspace(*p))
                        p++;
                if (*p == '\0' || *p == '#')
                        continue;
                if (*p == '[') {
                        const char *close = strrchr(p, ']');
                        g_free(group);
                        group = g_strndup(p + 1, close ? (size_t)(close - p - 1) : strlen(p + 1));
                        continue;
                }
                size_t key_len = strcspn(p, "=");
                g_autofree char *key = g_strstrip(g_strndup(p, key_len));
                const char *bracket = strchr(key, '[');
                if (!bracket)
                        continue;
                g_autofree char *base = g_strndup(key, (size_t)(bracket - key));
                g_autofree char *detail = g_strdup_printf(
                        "localized keys (KEY[LOCALE]=) are not supported; expected %s=", base);
                return key_error(ret_reason, file, group ? group : "", key, detail);
        }
        return 0;
}

/* Parses one source and applies it over what the loader has so far. */
static int apply_source(struct loader *l, const char *data, gsize len, const char *file,
                        char **ret_reason) {
        g_ptr_array_add(l->config->sources, g_strdup(file));

        /* GKeyFile would stop at a NUL or take invalid UTF-8 into values;
         * name the line instead. */
        const char *nul = memchr(data, '\0', len);
        if (nul) {
                return lbd_reason(ret_reason, -EINVAL,
                                  "%s: line %u: contains a NUL byte; expected a text file", file,
                                  line_of_offset(data, (gsize)(nul - data)));
        }
        const char *end;
        if (!g_utf8_validate(data, (gssize)len, &end)) {
                return lbd_reason(ret_reason, -EINVAL,
                                  "%s: line %u: invalid UTF-8; expected a UTF-8 text file", file,
                                  line_of_offset(data, (gsize)(end - data)));
        }

        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autoptr(GError) parse_error = NULL;
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &parse_error)) {
                unsigned line = find_parse_error_line(data, len);
                /* GLib's message, with the line it leaves out. */
                if (line > 0)
                        return lbd_reason(ret_reason, -EINVAL, "%s: line %u: %s", file, line,
                                          parse_error->message);
                return lbd_reason(ret_reason, -EINVAL, "%s: %s", file, parse_error->message);
        }

        g_autofree char *text = g_strndup(data, len);
        if (check_localized_keys(text, file, ret_reason) < 0)
                return -EINVAL;

        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
        for (char **g = groups; *g; g++) {
                int r = apply_group(l, kf, file, *g, ret_reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The file that introduced group; for a configuration copied into the
 * loader (lbd_config_load_state()), the last file that set one of its keys. */
static const char *group_origin(const struct loader *l, const char *group) {
        const char *file = g_hash_table_lookup(l->group_origins, group);
        if (file)
                return file;
        g_autofree char *prefix = g_strconcat(group, "\n", NULL);
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, l->config->origins);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (g_str_has_prefix(key, prefix))
                        return value;
        return l->config->sources->len > 0 ?
                       l->config->sources->pdata[l->config->sources->len - 1] :
                       "<unknown>";
}

/* Checks that need every source merged. */
static int finish(struct loader *l, char **ret_reason) {
        GPtrArray *services = l->config->services;

        for (guint i = 0; i < services->len; i++) {
                const struct lbd_service_config *s = services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                if (s->listen->len == 0)
                        return key_error(ret_reason, group_origin(l, group), group, "listen",
                                         "missing; expected at least one address to listen on, "
                                         "e.g. listen=0.0.0.0:80");

                for (guint j = 0; j < i; j++) {
                        const struct lbd_service_config *t = services->pdata[j];
                        for (guint a = 0; a < s->listen->len; a++)
                                for (guint b = 0; b < t->listen->len; b++) {
                                        const struct lbd_address *x =
                                                &g_array_index(s->listen, struct lbd_address, a);
                                        if (!lbd_address_equal(x,
                                                               &g_array_index(t->listen,
                                                                              struct lbd_address,
                                                                              b)))
                                                continue;
                                        g_autofree char *detail = g_strdup_printf(
                                                "%s is also a listen address of [service %s]; "
                                                "expected each address in one service only",
                                                x->text, t->name);
                                        return key_error(ret_reason,
                                                         lbd_config_origin(l->config, group,
                                                                           "listen"),
                                                         group, "listen", detail);
                                }
                }
        }
        return 0;
}

/* Reads path into *ret. Returns 1, 0 when it does not exist (missing_ok) or
 * is a directory (skip_directories), or -errno with *error set. */
static int read_file(const char *path, bool missing_ok, bool skip_directories, char **ret,
                     gsize *ret_len, char **ret_reason) {
        /* O_NONBLOCK: a FIFO must not hang the daemon; it is refused below. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                if (e == ENOENT && missing_ok)
                        return 0;
                return lbd_reason(ret_reason, -e, "%s: cannot read: %s", path, g_strerror(e));
        }

        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = errno;
                return lbd_reason(ret_reason, -e, "%s: cannot read: %s", path, g_strerror(e));
        }
        if (S_ISDIR(st.st_mode)) {
                if (skip_directories)
                        return 0;
                return lbd_reason(ret_reason, -EISDIR,
                                  "%s: cannot read: is a directory; expected a configuration file",
                                  path);
        }
        /* Regular files, and character devices for --config /dev/null. */
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
                return lbd_reason(ret_reason, -EBADF,
                                  "%s: cannot read: not a regular file; expected a configuration "
                                  "file", path);
        }

        g_autoptr(GByteArray) buf = g_byte_array_new();
        for (;;) {
                guint8 chunk[16384];
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        return lbd_reason(ret_reason, -e, "%s: cannot read: %s", path,
                                          g_strerror(e));
                }
                if (n == 0)
                        break;
                if (buf->len + (gsize)n > CONFIG_FILE_SIZE_MAX) {
                        return lbd_reason(ret_reason, -EFBIG,
                                          "%s: cannot read: larger than %u MiB; expected a "
                                          "configuration file", path,
                                          CONFIG_FILE_SIZE_MAX / 1024 / 1024);
                }
                g_byte_array_append(buf, chunk, (guint)n);
        }

        *ret_len = buf->len;
        guint8 nul = 0;
        g_byte_array_append(buf, &nul, 1);
        *ret = (char *)g_byte_array_free(g_steal_pointer(&buf), false);
        return 1;
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The drop-ins of dir, sorted by strcmp(): *.conf, not hidden. A missing
 * directory has none. */
static int list_dropins(const char *dir, GPtrArray **ret, char **ret_reason) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d) {
                int e = errno;
                if (e == ENOENT) {
                        *ret = g_steal_pointer(&names);
                        return 0;
                }
                return lbd_reason(ret_reason, -e, "%s: cannot read the drop-in directory: %s", dir,
                                  g_strerror(e));
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0) {
                                int e = errno;
                                return lbd_reason(ret_reason, -e,
                                                  "%s: cannot read the drop-in directory: %s", dir,
                                                  g_strerror(e));
                        }
                        break;
                }
                /* Hidden files are editors' and package managers' leftovers. */
                if (de->d_name[0] == '.' || !g_str_has_suffix(de->d_name, ".conf"))
                        continue;
                g_ptr_array_add(names, g_strdup(de->d_name));
        }
        g_ptr_array_sort(names, compare_names);
        *ret = g_steal_pointer(&names);
        return 0;
}

int lbd_config_load(const char *main_path, bool main_path_required, const char *dropin_dir,
                    struct lbd_config **ret, char **ret_reason) {
        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);

        if (!main_path)
                main_path = LBD_CONFIG_DEFAULT_PATH;

        g_autofree char *data = NULL;
        gsize len = 0;
        int r = read_file(main_path, !main_path_required, false, &data, &len, ret_reason);
        if (r < 0)
                return r;
        if (r == 0)
                r = apply_source(&l, lbd_config_builtin_default, strlen(lbd_config_builtin_default),
                                 LBD_CONFIG_BUILTIN_NAME, ret_reason);
        else
                r = apply_source(&l, data, len, main_path, ret_reason);
        if (r < 0)
                return r;

        if (dropin_dir) {
                g_autoptr(GPtrArray) names = NULL;
                r = list_dropins(dropin_dir, &names, ret_reason);
                if (r < 0)
                        return r;
                for (guint i = 0; i < names->len; i++) {
                        g_autofree char *path = g_build_filename(dropin_dir, names->pdata[i], NULL);
                        g_autofree char *dropin = NULL;
                        gsize dropin_len = 0;
                        /* Directories named *.conf are skipped; a
                         * dangling symlink is an error, as it is a
                         * drop-in the administrator meant to be read. */
                        r = read_file(path, false, true, &dropin, &dropin_len, ret_reason);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        r = apply_source(&l, dropin, dropin_len, path, ret_reason);
                        if (r < 0)
                                return r;
                }
        }

        r = finish(&l, ret_reason);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&l.config);
        return 0;
}

struct lbd_config *lbd_config_load_from_data(const char *data, const char *source_name,
                                             char **ret_reason) {
        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);

        if (apply_source(&l, data, strlen(data), source_name, ret_reason) < 0)
                return NULL;
        if (finish(&l, ret_reason) < 0)
                return NULL;
        return g_steal_pointer(&l.config);
}

int lbd_config_load_state(const struct lbd_config *base, const char *path,
                          struct lbd_config **ret, char **ret_reason) {
        g_autofree char *data = NULL;
        gsize len = 0;
        int r = read_file(path, true, false, &data, &len, ret_reason);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = NULL;
                return 0;
        }

        _cleanup_(loader_done) struct loader l = {};
        loader_init(&l);
        lbd_config_free(l.config);
        l.config = lbd_config_copy(base);
        l.state_source = true;
        r = apply_source(&l, data, len, path, ret_reason);
        if (r < 0)
                return r;
        r = finish(&l, ret_reason);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&l.config);
        return 1;
}

