/* SPDX-License-Identifier: MIT */
#include "worker-confine.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access-log.h"
#include "log.h"
#include "worker-landlock.h"
#include "worker-seccomp.h"

/* Empty every capability set. A master that runs as root has given its
 * workers another uid, which cleared them; a master running as lbd with
 * the unit's AmbientCapabilities=CAP_NET_BIND_SERVICE has passed that on
 * (lbd.service allows capset() for this). Under a system call filter that
 * refuses capset() (EPERM) the capability stays, unusable: binding kills
 * a worker (seccomp) and Landlock refuses TCP binds. */
static int drop_capabilities(void) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = { 0 };
        if (syscall(SYS_capset, &header, none) < 0 && errno != EPERM)
                return -errno;
        return 0;
}

int lbd_worker_confine(int landlock_abi, struct lbd_seccomp_program *seccomp) {
        int r = drop_capabilities();
        if (r < 0)
                return log_error_errno(r, "cannot drop the worker's capabilities: %m");

        const char *files[2];
        size_t n = lbd_logs_reopened_files(files);
        char dirs[2][PATH_MAX];
        const char *dir_list[2];
        for (size_t i = 0; i < n; i++) {
                snprintf(dirs[i], sizeof dirs[i], "%s", files[i]);
                dir_list[i] = dirname(dirs[i]);
        }
        r = lbd_worker_landlock_apply(landlock_abi, dir_list, n);
        if (r < 0)
                return log_error_errno(r, "cannot confine the worker with Landlock: %m");

        r = lbd_worker_seccomp_install(seccomp);
        if (r < 0)
                return log_error_errno(r, "cannot load the worker's system call filter: %m");
        return 0;
}
