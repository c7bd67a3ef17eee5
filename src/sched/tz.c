/* Time zones as pytz sees them: a TZif file's version-1 data only (so no
 * transitions after 2037), offsets rounded to whole minutes, pytz's DST
 * amounts, and localize(is_dst=False) / normalize() exactly as pytz
 * computes them (pytz/tzfile.py, pytz/tzinfo.py). Fixed offsets and UTC
 * are zones without transitions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched/sched_int.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct ttinfo {
    int32_t off;
    bool isdst;
    const char *abbr; /* into the file buffer */
    size_t abbr_len;
} ttinfo;

static bool tt_equal(const ttinfo *a, const ttinfo *b)
{
    return a->off == b->off && a->isdst == b->isdst && a->abbr_len == b->abbr_len &&
           memcmp(a->abbr, b->abbr, a->abbr_len) == 0;
}

static int32_t round_minute(int32_t s)
{
    return (int32_t)tm_floordiv(s + 30, 60) * 60;
}

static bool name_ok(const char *name)
{
    if (!*name || name[0] == '/' || strlen(name) >= sizeof(((tm_sched_zone *)0)->name)) {
        return false;
    }
    if (strstr(name, "..")) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!(*p == '/' || *p == '_' || *p == '-' || *p == '+' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            return false;
        }
    }
    return true;
}

static tm_status zone_alloc(const char *name, size_t n, tm_sched_zone **out, tm_err *err)
{
    tm_sched_zone *z = tm_calloc(1, sizeof *z);
    if (!z) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory loading zone");
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    if (n) {
        z->table = true;
        z->n = n;
        z->trans = tm_malloc_n(n, sizeof *z->trans);
        z->off = tm_malloc_n(n, sizeof *z->off);
        z->dst = tm_malloc_n(n, sizeof *z->dst);
        if (!z->trans || !z->off || !z->dst) {
            tm_sched_zone_free(z);
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory loading zone");
        }
    }
    *out = z;
    return TM_OK;
}

/* Builds the transition table as pytz.tzfile.build_tzinfo does. */
static tm_status build(const char *name, const unsigned char *d, size_t len, tm_sched_zone **out,
                       tm_err *err)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0) {
        return TM_ERR(err, TM_E_FORMAT, NULL, 0, "timezone", "%s: not a TZif file", name);
    }
    size_t timecnt = be32(d + 32), typecnt = be32(d + 36), charcnt = be32(d + 40);
    size_t need = 44 + timecnt * 5 + typecnt * 6 + charcnt;
    if (typecnt == 0 || timecnt > 100000 || typecnt > 256 || need > len) {
        return TM_ERR(err, TM_E_FORMAT, NULL, 0, "timezone", "%s: truncated TZif file", name);
    }
    const unsigned char *tt = d + 44, *idx = tt + timecnt * 4, *ti = idx + timecnt;
    const char *chars = (const char *)(ti + typecnt * 6);
    ttinfo types[256];
    for (size_t i = 0; i < typecnt; i++) {
        const unsigned char *e = ti + i * 6;
        size_t a = e[5];
        types[i].off = (int32_t)be32(e);
        types[i].isdst = e[4] != 0;
        types[i].abbr = a < charcnt ? chars + a : chars + charcnt;
        const char *nul = a < charcnt ? memchr(types[i].abbr, 0, charcnt - a) : NULL;
        types[i].abbr_len =
                nul ? (size_t)(nul - types[i].abbr) : charcnt - (a < charcnt ? a : charcnt);
    }
    for (size_t i = 0; i < timecnt; i++) {
        if (idx[i] >= typecnt) {
            return TM_ERR(err, TM_E_FORMAT, NULL, 0, "timezone", "%s: bad TZif type index", name);
        }
    }
    if (typecnt == 1 || timecnt == 0) {
        tm_status st = zone_alloc(name, 0, out, err);
        if (st == TM_OK) {
            (*out)->fixed = types[0].off; /* StaticTzInfo: not rounded */
        }
        return st;
    }
    /* Early dates use the first standard-time ttinfo. */
    size_t first_std = 0;
    while (first_std < typecnt && types[first_std].isdst) {
        first_std++;
    }
    if (first_std == typecnt) {
        return TM_ERR(err, TM_E_FORMAT, NULL, 0, "timezone", "%s: no standard time", name);
    }
    bool replace = tt_equal(&types[first_std], &types[idx[0]]);
    size_t n = replace ? timecnt : timecnt + 1;
    tm_status st = zone_alloc(name, n, out, err);
    if (st != TM_OK) {
        return st;
    }
    tm_sched_zone *z = *out;
    unsigned char *lidx = tm_malloc(n);
    if (!lidx) {
        tm_sched_zone_free(z);
        *out = NULL;
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory loading zone");
    }
    size_t k = 0;
    if (!replace) {
        z->trans[k] = INT64_MIN;
        lidx[k++] = (unsigned char)first_std;
    }
    for (size_t i = 0; i < timecnt; i++, k++) {
        z->trans[k] = (int64_t)(int32_t)be32(tt + i * 4) * TM__US;
        lidx[k] = idx[i];
    }
    z->trans[0] = INT64_MIN;
    const ttinfo *prev = &types[lidx[0]];
    for (size_t i = 0; i < n; i++) {
        const ttinfo *inf = &types[lidx[i]];
        int32_t dst = 0;
        if (inf->isdst) {
            for (size_t j = i; j-- > 0;) {
                prev = &types[lidx[j]];
                if (!prev->isdst) {
                    break;
                }
            }
            dst = inf->off - prev->off;
            if (dst <= 0 || dst > 3600 * 3) {
                for (size_t j = i + 1; j < n; j++) {
                    const ttinfo *std = &types[lidx[j]];
                    if (!std->isdst) {
                        dst = inf->off - std->off;
                        if (dst > 0) {
                            break;
                        }
                    }
                }
            }
        }
        z->off[i] = round_minute(inf->off);
        z->dst[i] = round_minute(dst);
    }
    tm_free(lidx);
    return TM_OK;
}

tm_status tm_sched_zone_load(const char *name, tm_sched_zone **out, tm_err *err)
{
    *out = NULL;
    if (!name || strcasecmp(name, "UTC") == 0) {
        tm_status st = zone_alloc("UTC", 0, out, err);
        return st;
    }
    if (!name_ok(name)) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "timezone", "UnknownTimeZoneError: '%s'", name);
    }
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir) {
        dir = "/usr/share/zoneinfo";
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "timezone", "UnknownTimeZoneError: '%s'", name);
    }
    unsigned char *buf = tm_malloc(1 << 20);
    if (!buf) {
        fclose(fp);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory loading zone");
    }
    size_t len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    tm_status st = build(name, buf, len, out, err);
    tm_free(buf);
    return st;
}

tm_status tm_sched_zone_fixed(int32_t offset_s, tm_sched_zone **out, tm_err *err)
{
    *out = NULL;
    if (offset_s <= -86400 || offset_s >= 86400) {
        return TM_ERR(err, TM_E_RANGE, NULL, 0, NULL, "offset %d s is a day or more",
                      (int)offset_s);
    }
    char name[32];
    int32_t a = offset_s < 0 ? -offset_s : offset_s;
    snprintf(name, sizeof name, "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    tm_status st = zone_alloc(name, 0, out, err);
    if (st == TM_OK) {
        (*out)->fixed = offset_s;
    }
    return st;
}

void tm_sched_zone_free(tm_sched_zone *z)
{
    if (!z) {
        return;
    }
    tm_free(z->trans);
    tm_free(z->off);
    tm_free(z->dst);
    tm_free(z);
}

const char *tm_sched_zone_name(const tm_sched_zone *z)
{
    return z->name;
}

/* max(0, bisect_right(trans, x) - 1) */
static size_t find(const tm_sched_zone *z, int64_t x)
{
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x < z->trans[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo ? lo - 1 : 0;
}

int32_t tm_sched_zone_offset(const tm_sched_zone *z, tm_sched_time t)
{
    return z->table ? z->off[find(z, t)] : z->fixed;
}

/* localize's candidate search for one wall time: up to two (instant,
 * transition) pairs whose normalized wall time equals wall. */
static size_t candidates(const tm_sched_zone *z, int64_t wall, int64_t inst[2], size_t tr[2])
{
    size_t n = 0;
    static const int64_t deltas[2] = {-TM__US_DAY, TM__US_DAY};
    for (int k = 0; k < 2; k++) {
        size_t i = find(z, wall + deltas[k]);
        int64_t utc = wall - (int64_t)z->off[i] * TM__US;
        size_t j = find(z, utc);
        if (utc + (int64_t)z->off[j] * TM__US != wall) {
            continue;
        }
        if (n == 1 && inst[0] == utc) {
            continue; /* a set of aware datetimes: equal instants collapse */
        }
        inst[n] = utc;
        tr[n] = j;
        n++;
    }
    return n;
}

tm_sched_time tm__sched_localize(const tm_sched_zone *z, int64_t wall, int32_t *raw_off)
{
    if (!z->table) {
        *raw_off = z->fixed;
        return wall - (int64_t)z->fixed * TM__US;
    }
    int64_t inst[2];
    size_t tr[2];
    int64_t w = wall;
    size_t n = candidates(z, w, inst, tr);
    /* A non-existent time: localize(dt - 6h) + 6h keeps that offset. */
    for (int guard = 0; n == 0 && guard < 64; guard++) {
        w -= 6 * 3600 * TM__US;
        n = candidates(z, w, inst, tr);
    }
    size_t pick = 0;
    if (n == 2) {
        bool std0 = z->dst[tr[0]] == 0, std1 = z->dst[tr[1]] == 0;
        if (std0 != std1) {
            pick = std0 ? 0 : 1;
        } else {
            pick = inst[1] > inst[0] ? 1 : 0; /* is_dst=False: the latest instant */
        }
    } else if (n == 0) {
        *raw_off = z->off[0];
        return wall - (int64_t)z->off[0] * TM__US;
    }
    *raw_off = z->off[tr[pick]];
    return wall - (int64_t)*raw_off * TM__US;
}

tm_sched_time tm_sched_zone_localize(const tm_sched_zone *z, int64_t wall_us)
{
    int32_t off;
    return tm__sched_localize(z, wall_us, &off);
}
