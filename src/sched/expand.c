/* Command placeholders: {turbomode}, {db}, {job}, {as_of} (the day of the
 * last market close at or before the fire, tm_sched_fire_as_of) and
 * {scheduled} (ISO 8601), shell-quoted when
 * needed since the command runs under /bin/sh -c. Other braces are left
 * alone, so shell syntax such as ${HOME} passes through. */
#include <stdio.h>
#include <string.h>

#include "sched/sched_int.h"

static bool shell_safe(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:+-=,@%",
                    *s)) {
            return false;
        }
    }
    return true;
}

static void put_quoted(tm__sched_jbuf *b, const char *s)
{
    if (shell_safe(s)) {
        tm__sched_jb_cstr(b, s);
        return;
    }
    tm__sched_jb_raw(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'') {
            tm__sched_jb_cstr(b, "'\\''");
        } else {
            tm__sched_jb_raw(b, s, 1);
        }
    }
    tm__sched_jb_raw(b, "'", 1);
}

char *tm_sched_fire_as_of(tm_sched_time fire, const tm_sched_zone *z, char *buf, size_t len)
{
    int64_t wall = fire + (int64_t)tm_sched_zone_offset(z, fire) * TM__US;
    int64_t day = tm_floordiv(wall, TM__US_DAY);
    int64_t sec_of_day = tm_floordiv(wall - day * TM__US_DAY, TM__US);
    if (sec_of_day < TM_SCHED_CLOSE_HOUR * 3600) {
        day--; /* before today's close: the data of today is not in yet */
    }
    int y, m, d;
    tm_civil_from_days(day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
    return buf;
}

tm_status tm__sched_expand(const tm_sched_config *cfg, const tm__sched_job *job,
                           tm_sched_time scheduled, char **out, tm_err *err)
{
    const tm_sched_zone *z = tm_sched_trigger_zone(job->trigger);
    char iso[TM_SCHED_ISO_LEN], day[16];
    tm_sched_time_format(scheduled, z, iso, sizeof iso);
    tm_sched_fire_as_of(scheduled, z, day, sizeof day);
    const char *names[5] = {"turbomode", "db", "job", "as_of", "scheduled"};
    const char *values[5] = {cfg->binary, cfg->db, job->name, day, iso};
    tm__sched_jbuf b = {0};
    const char *s = job->command;
    while (*s) {
        bool done = false;
        if (*s == '{' && (s == job->command || s[-1] != '$')) {
            for (int i = 0; i < 5 && !done; i++) {
                size_t n = strlen(names[i]);
                if (strncmp(s + 1, names[i], n) == 0 && s[n + 1] == '}') {
                    put_quoted(&b, values[i]);
                    s += n + 2;
                    done = true;
                }
            }
        }
        if (!done) {
            tm__sched_jb_raw(&b, s, 1);
            s++;
        }
    }
    *out = tm__sched_jb_take(&b);
    return *out ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
}
