/* Fuzz target for the scheduler's text inputs: the whole input as a
 * config file (tm_sched_config_parse), then each of its lines as a
 * `schedule eval` JSON line (tm_sched_eval_line). Errors are expected;
 * crashes, leaks and sanitizer reports are not. */
#include <string.h>

#include <turbomode/sched.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    tm_sched_config *cfg = NULL;
    if (tm_sched_config_parse(text, size, "fuzz.conf", &cfg, NULL) == TM_OK) {
        tm_sched_config_free(cfg);
    }
    for (size_t i = 0; i < size;) {
        const char *nl = memchr(text + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (text + i)) : size - i;
        char *out = NULL;
        if (tm_sched_eval_line(text + i, len, &out, NULL) == TM_OK) {
            tm_free(out);
        }
        i += len + 1;
    }
    return 0;
}
