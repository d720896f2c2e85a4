/* SPDX-License-Identifier: MIT */
#include "worker-landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The rights and scopes added after the ABI of the kernel headers we
 * build with (Debian's linux-libc-dev knows ABI 2): the numbers are the
 * kernel's, which never changes them. */
#define FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

/* struct landlock_ruleset_attr as of ABI 6; the kernel takes the size of
 * the part the running ABI knows. */
struct ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net; /* ABI 4 */
        uint64_t scoped;             /* ABI 6 */
};

int lbd_landlock_abi(void) {
        long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        return abi < 0 ? -errno : (int)abi;
}

static uint64_t fs_rights(int abi) {
        uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
        if (abi >= 2)
                all |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
                all |= FS_TRUNCATE;
        if (abi >= 5)
                all |= FS_IOCTL_DEV;
        return all;
}

static int allow_writes_beneath(int ruleset, const char *dir) {
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct landlock_path_beneath_attr rule = {
                .allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE,
                .parent_fd = fd,
        };
        if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
                return -errno;
        return 0;
}

int lbd_worker_landlock_apply(int abi, const char *const *write_dirs, size_t n_write_dirs) {
        if (abi < 1)
                return 0;
        struct ruleset_attr attr = { .handled_access_fs = fs_rights(abi) };
        size_t size = sizeof attr.handled_access_fs;
        if (abi >= 4) {
                attr.handled_access_net = NET_BIND_TCP;
                size = offsetof(struct ruleset_attr, scoped);
        }
        if (abi >= 6) {
                attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
                size = sizeof attr;
        }
        _cleanup_close_ int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
        if (ruleset < 0)
                return -errno;
        for (size_t i = 0; i < n_write_dirs; i++) {
                int r = allow_writes_beneath(ruleset, write_dirs[i]);
                if (r < 0)
                        return r;
        }
        if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
                return -errno;
        return 0;
}
