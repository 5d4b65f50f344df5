/* SPDX-License-Identifier: Apache-2.0 */
/* The crash record (host/delivery/crash_guard.c): what a fatal signal in a dispatch leaves
 * for the next start. Moved from host_journal_test.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "delivery/crash_guard.h"

#include "journal_test_helpers.h"

/* A fatal signal in a marked dispatch leaves the instance and event in the crash record; the
 * next open hands it over once. */
static void test_crash_guard_record(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof(path), "%s/crash.rec", dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* not cmocka's handler: the child is to die of it */
        fth_crash_record prev;
        ftrack_error err;
        if (fth_crash_guard_open(path, &prev, &err) != FTRACK_OK || prev.signal)
            _exit(3);
        fth_crash_guard_dispatching("inst", "ev1", "topic.x");
        fth_crash_guard_idle();
        fth_crash_guard_dispatching("inst", "ev2", "topic.y");
        raise(SIGBUS);
        _exit(4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Killed by the signal, or (under a sanitizer's handler) exited with an error. */
    assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 1));
    fth_crash_record rec;
    ftrack_error err;
    assert_int_equal(fth_crash_guard_open(path, &rec, &err), FTRACK_OK);
    assert_int_equal(rec.signal, SIGBUS);
    assert_int_equal(rec.pid, pid);
    assert_string_equal(rec.instance, "inst");
    assert_string_equal(rec.id, "ev2");
    assert_string_equal(rec.topic, "topic.y");
    fth_crash_guard_close();
    assert_int_equal(fth_crash_guard_open(path, &rec, &err), FTRACK_OK);
    assert_int_equal(rec.signal, 0); /* handed over once */
    /* Idle threads record nothing. */
    fth_crash_guard_dispatching("inst", "ev3", "t");
    fth_crash_guard_idle();
    fth_crash_guard_close();
    char buf[96];
    assert_non_null(strstr(fth_crash_guard_describe(SIGSEGV, buf, sizeof(buf)), "signal 11"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_guard_record, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
