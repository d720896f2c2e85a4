/* SPDX-License-Identifier: MIT */
/* proxy/worker-seccomp.c: the allow-list as a worker meets it. Each case
 * forks a child that loads the filter (as a worker does, after
 * no_new_privs) and tries one thing; the parent sees it exit or die of
 * SIGSYS (SECCOMP_RET_KILL_PROCESS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker-seccomp.h"

static struct lbd_seccomp_program program;

static int setup(void **state) {
        const char *unknown = NULL;
        int r = lbd_worker_seccomp_build(NULL, &unknown, &program);
        if (r == -EOPNOTSUPP) {
                print_message("no seccomp filter can be loaded here: skipped\n");
                return -1;
        }
        return r;
}

static int teardown(void **state) {
        lbd_worker_seccomp_program_done(&program);
        return 0;
}

/* What the child did: its exit code, or -signal. */
static int in_confined_child(int (*what)(void)) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    lbd_worker_seccomp_install(&program) < 0)
                        _exit(99);
                _exit(what());
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

static int do_serving_calls(void) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 || write(fds[0], "x", 1) != 1)
                return 1;
        char c;
        if (read(fds[1], &c, 1) != 1 || c != 'x')
                return 2;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (s < 0)
                return 3;
        close(s);
        if (kill(getpid(), 0) < 0) /* itself: allowed (the patched pid) */
                return 4;
        return 0;
}

static int do_read_a_file(void) {
        int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        return fd < 0 && errno == EACCES ? 0 : 1;
}

static int do_execve(void) {
        char *argv[] = { (char *)"/bin/true", NULL };
        execve(argv[0], argv, NULL);
        return 1;
}

static int do_signal_parent(void) { return kill(getppid(), 0) < 0 ? 1 : 2; }

static int do_open_to_truncate(void) {
        return open("/nonexistent-lbd-test", O_WRONLY | O_CREAT | O_TRUNC, 0600) < 0 ? 1 : 2;
}

static int do_packet_socket(void) { return socket(AF_PACKET, SOCK_RAW, 0) < 0 ? 1 : 2; }

static int do_bind(void) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET };
        return bind(s, (struct sockaddr *)&a, sizeof a) < 0 ? 1 : 2;
}

static int do_fork(void) { return fork() < 0 ? 1 : 2; }

static void test_serving_calls_pass(void **state) {
        assert_int_equal(in_confined_child(do_serving_calls), 0);
}

static void test_reading_a_file_is_refused(void **state) {
        assert_int_equal(in_confined_child(do_read_a_file), 0);
}

static void test_what_a_worker_never_does_kills_it(void **state) {
        assert_int_equal(in_confined_child(do_execve), -SIGSYS);
        assert_int_equal(in_confined_child(do_signal_parent), -SIGSYS);
        assert_int_equal(in_confined_child(do_open_to_truncate), -SIGSYS);
        assert_int_equal(in_confined_child(do_packet_socket), -SIGSYS);
        assert_int_equal(in_confined_child(do_bind), -SIGSYS);
        assert_int_equal(in_confined_child(do_fork), -SIGSYS);
}

static void test_an_unknown_extra_call_is_named(void **state) {
        const char *const extra[] = { "io_uring_enter", "no_such_call", NULL };
        const char *unknown = NULL;
        struct lbd_seccomp_program p;
        assert_int_equal(lbd_worker_seccomp_build(extra, &unknown, &p), -EINVAL);
        assert_string_equal(unknown, "no_such_call");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_serving_calls_pass),
                cmocka_unit_test(test_reading_a_file_is_refused),
                cmocka_unit_test(test_what_a_worker_never_does_kills_it),
                cmocka_unit_test(test_an_unknown_extra_call_is_named),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
