/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_POISON_H
#define FTH_POISON_H
/*
 * What the host does about a plugin that crashed it (docs/reliability.md, "A plugin that
 * crashes the host"), so that one poison event cannot crash-loop it:
 *
 *   - At start, the crash guard's record (crash_guard.h) names the instance and event whose
 *     dispatch took the previous run down (logged). When that instance starts in process and
 *     its configuration does not say "isolated": false, it is written to
 *     <data dir>/isolated-after-crash.json and from then on runs isolated (its own child
 *     process) at every start, logged with the reason, until its configuration says
 *     "isolated": false (which also forgets the entry) or the entry is deleted.
 *   - At each instance's first start in a run, before its worker runs, the deliveries an
 *     earlier run started and left unfinished are looked at (fth_journal_unfinished): each
 *     started try counted as an attempt (persisted by the journal before the callback ran),
 *     one whose attempts reached the instance's max_attempts is dead-lettered without
 *     running again, the others run again (logged).
 *
 * Threads: main thread only (start of the host and of instances). Ownership: the journal and
 * the dead-letter file are borrowed and must outlive the object.
 */
#include <stdbool.h>
#include <ftrack/common.h>
#include "delivery/deadletter.h"
#include "delivery/failure.h"
#include "delivery/journal.h"

typedef struct fth_poison fth_poison;

/* Read the crash record (a fresh crash is logged) and the list of isolated instances in
 * `data_dir`. Without the crash record (it cannot be mapped: logged) only the journal's
 * attempt counting protects the host. NULL only when out of memory. */
fth_poison *fth_poison_open(const char *data_dir, fth_journal *journal, fth_deadletter *dl);
/* Uninstalls the crash guard. NULL is accepted. */
void fth_poison_close(fth_poison *p);

typedef struct fth_poison_instance {
    const char *name;
    bool isolated;   /* configured to run isolated */
    bool in_process; /* configured "isolated": false explicitly */
    bool journaled;
    const fth_failure_policy *policy;
} fth_poison_instance;

/* An instance starts (before its worker): dead-letter its used-up deliveries (see above) and
 * say whether it runs isolated. */
bool fth_poison_instance_start(fth_poison *p, const fth_poison_instance *inst);
#endif
