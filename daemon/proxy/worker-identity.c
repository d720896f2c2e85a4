/* SPDX-License-Identifier: MIT */
#include "worker-identity.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* getpwnam()/getgrnam() report "no such entry" as NULL with errno 0 or,
 * depending on the NSS module, ENOENT, ESRCH, EBADF or EPERM. */
static bool not_found(int err) {
        return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

static const char *origin_of(const struct lbd_config *config, const char *key) {
        const char *o = lbd_config_origin(config, "daemon", key);
        return o ? o : "default";
}

static int lookup_group(const struct lbd_config *config, const char *key, const char *name,
                        gid_t *ret) {
        errno = 0;
        const struct group *gr = getgrnam(name);
        if (gr) {
                *ret = gr->gr_gid;
                return 0;
        }
        int err = errno;
        if (not_found(err)) {
                log_error("%s: [daemon] %s: no group named '%s'", origin_of(config, key), key,
                          name);
                return -ENOENT;
        }
        return log_error_errno(err, "%s: [daemon] %s: cannot look up group '%s': %m",
                               origin_of(config, key), key, name);
}

/* "NAME (gid N)", or "gid N" for a group without a name. */
static void append_group(char *buf, size_t len, gid_t gid) {
        size_t used = strlen(buf);
        const struct group *gr = getgrgid(gid);
        if (gr)
                snprintf(buf + used, len - used, "%s (gid %u)", gr->gr_name, (unsigned)gid);
        else
                snprintf(buf + used, len - used, "gid %u", (unsigned)gid);
}

static void describe(struct lbd_worker_identity *id, const char *user) {
        snprintf(id->text, sizeof id->text, "user %s (uid %u), group ", user,
                 (unsigned)id->uid);
        append_group(id->text, sizeof id->text, id->gid);
        for (size_t i = 0; i < id->n_groups; i++) {
                size_t used = strlen(id->text);
                snprintf(id->text + used, sizeof id->text - used,
                         i == 0 ? ", extra groups " : ", ");
                append_group(id->text, sizeof id->text, id->groups[i]);
        }
}

/* The master's own identity, for workers that keep it. */
static void describe_self(struct lbd_worker_identity *id) {
        id->uid = geteuid();
        id->gid = getegid();
        gid_t groups[LBD_EXTRA_GROUPS_MAX];
        int n = getgroups((int)LBD_EXTRA_GROUPS_MAX, groups);
        id->n_groups = 0;
        for (int i = 0; i < n; i++)
                if (groups[i] != id->gid)
                        id->groups[id->n_groups++] = groups[i];
        const struct passwd *pw = getpwuid(id->uid);
        char uid_text[32];
        snprintf(uid_text, sizeof uid_text, "%u", (unsigned)id->uid);
        describe(id, pw ? pw->pw_name : uid_text);
}

/* Not root: the workers can only have the groups the master has, so
 * extra-groups= must name groups of those (the unit's SupplementaryGroups=,
 * or the user's own groups). */
static int check_own_groups(const struct lbd_config *config) {
        gid_t have[LBD_EXTRA_GROUPS_MAX + 64];
        int n = getgroups((int)(sizeof have / sizeof have[0]), have);
        if (n < 0)
                return log_error_errno(-errno, "cannot read lbd's own groups: %m");
        for (char **g = config->daemon.extra_groups; g && *g; g++) {
                gid_t gid;
                int r = lookup_group(config, "extra-groups", *g, &gid);
                if (r < 0)
                        return r;
                bool found = gid == getegid();
                for (int i = 0; i < n; i++)
                        found = found || have[i] == gid;
                if (!found) {
                        const struct passwd *pw = getpwuid(geteuid());
                        char user[64];
                        snprintf(user, sizeof user, "%s", pw ? pw->pw_name : "lbd");
                        log_error("%s: [daemon] extra-groups: lbd runs as user %s (uid %u), "
                                  "not root, and is not in group '%s', so its workers cannot "
                                  "be either: give lbd the group (SupplementaryGroups=%s in a "
                                  "drop-in made with systemctl edit lbd, or usermod -aG %s %s) "
                                  "or remove it from extra-groups=",
                                  origin_of(config, "extra-groups"), user, (unsigned)geteuid(),
                                  *g, *g, *g, user);
                        return -EPERM;
                }
        }
        return 0;
}

int lbd_worker_identity_resolve(const struct lbd_config *config, struct lbd_worker_identity *ret) {
        const struct lbd_daemon_config *d = &config->daemon;
        struct lbd_worker_identity id = { 0 };

        if (geteuid() != 0) {
                int r = check_own_groups(config);
                if (r < 0)
                        return r;
                describe_self(&id);
                /* As lbd.service runs it (User=lbd): user=lbd says nothing new. */
                const struct passwd *self = getpwuid(geteuid());
                if (!self || strcmp(self->pw_name, d->user) != 0)
                        log_info("not running as root: workers keep uid %u (user=%s is not "
                                 "applied)",
                                 (unsigned)geteuid(), d->user);
                *ret = id;
                return 0;
        }
        errno = 0;
        const struct passwd *pw = getpwnam(d->user);
        if (!pw) {
                int err = errno;
                if (not_found(err)) {
                        log_error("%s: [daemon] user: no user named '%s'; create it (see "
                                  "dbus/lbd.sysusers.conf) or set user= to an existing user",
                                  origin_of(config, "user"), d->user);
                        return -ENOENT;
                }
                return log_error_errno(err, "%s: [daemon] user: cannot look up user '%s': %m",
                                       origin_of(config, "user"), d->user);
        }
        id.uid = pw->pw_uid;
        id.gid = pw->pw_gid;
        /* pw points into static storage that getgrnam() may reuse. */
        char user[64];
        snprintf(user, sizeof user, "%s", pw->pw_name);

        int r;
        if (d->group && (r = lookup_group(config, "group", d->group, &id.gid)) < 0)
                return r;
        for (char **g = d->extra_groups; g && *g; g++) {
                gid_t gid;
                if ((r = lookup_group(config, "extra-groups", *g, &gid)) < 0)
                        return r;
                bool dup = gid == id.gid;
                for (size_t i = 0; i < id.n_groups; i++)
                        dup = dup || id.groups[i] == gid;
                if (!dup)
                        id.groups[id.n_groups++] = gid;
        }
        if (id.uid == 0) {
                log_warning("user=%s is root: workers run with full privileges", user);
                describe_self(&id);
                *ret = id;
                return 0;
        }
        id.drop = true;
        describe(&id, user);
        *ret = id;
        return 0;
}

int lbd_worker_identity_apply(const struct lbd_worker_identity *id) {
        if (!id->drop)
                return 0;
        if (setgroups(id->n_groups, id->groups) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
            setresuid(id->uid, id->uid, id->uid) < 0)
                return -errno;
        /* Make sure there is no way back to root. */
        if (setuid(0) == 0)
                return -EPERM;
        return 0;
}
