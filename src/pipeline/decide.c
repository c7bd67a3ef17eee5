/* The decision rule: per-class isotonic calibration of the meta-learner's
 * probabilities (pool-adjacent-violators, fitted on actual labels, which
 * undoes the class-weight prior of training), a calibrated threshold per
 * side chosen for a target precision above the side's base rate (Wilson
 * lower bound), an optional
 * cap per day and side, and the rule's JSON form kept with the model.
 * Calibrated values are one-vs-rest estimates: they are not renormalised
 * and need not sum to 1 (renormalising would break monotonicity). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide_int.h"

static const char *const side_name[3] = {"SELL", "HOLD", "BUY"};

void tm__decide_rule_fini(tm__decide_rule *r)
{
    if (!r) {
        return;
    }
    for (int c = 0; c < 3; c++) {
        tm_free(r->cal[c].x);
        tm_free(r->cal[c].y);
    }
    memset(r, 0, sizeof *r);
}

/* A rule with no curves, both sides abstaining. */
static void rule_empty(tm__decide_rule *r, double target)
{
    memset(r, 0, sizeof *r);
    r->target = target;
    for (int c = 0; c < 3; c++) {
        r->threshold[c] = INFINITY;
        r->sel_lower[c] = NAN;
        r->base_rate[c] = NAN;
    }
}

typedef struct xy {
    double x, y;
} xy;

static int cmp_x(const void *a, const void *b)
{
    double u = ((const xy *)a)->x, v = ((const xy *)b)->x;
    return (u > v) - (u < v);
}

tm_status tm__decide_pav(const double *x, const double *y, size_t n, tm__decide_curve *c,
                         tm_err *err)
{
    memset(c, 0, sizeof *c);
    xy *p = tm_malloc_n(n ? n : 1, sizeof *p);
    double *w = tm_malloc_n(n ? n : 1, sizeof *w);
    c->x = tm_malloc_n(n ? n : 1, sizeof *c->x);
    c->y = tm_malloc_n(n ? n : 1, sizeof *c->y);
    if (!p || !w || !c->x || !c->y) {
        tm_free(p);
        tm_free(w);
        tm_free(c->x);
        tm_free(c->y);
        memset(c, 0, sizeof *c);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory calibrating %zu rows", n);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(x[i])) {
            p[m].x = x[i];
            p[m++].y = y[i];
        }
    }
    qsort(p, m, sizeof *p, cmp_x);
    /* Blocks on a stack: lower bound c->x, mean c->y, weight w. A new
     * block merges into the one below while that one's mean is not lower,
     * so the means left are strictly increasing. */
    size_t k = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        double sum = 0;
        while (j < m && p[j].x == p[i].x) {
            sum += p[j++].y;
        }
        c->x[k] = p[i].x;
        w[k] = (double)(j - i);
        c->y[k] = sum / w[k];
        k++;
        while (k > 1 && c->y[k - 2] >= c->y[k - 1]) {
            double wt = w[k - 2] + w[k - 1];
            c->y[k - 2] = (c->y[k - 2] * w[k - 2] + c->y[k - 1] * w[k - 1]) / wt;
            w[k - 2] = wt;
            k--;
        }
        i = j;
    }
    c->n = k;
    tm_free(p);
    tm_free(w);
    return TM_OK;
}

double tm__decide_curve_at(const tm__decide_curve *c, double v)
{
    if (isnan(v) || c->n == 0) {
        return NAN;
    }
    size_t lo = 0, hi = c->n; /* the last knot with x <= v lies in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->x[mid] <= v) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return c->y[lo];
}

double tm__decide_wilson_lower(size_t hits, size_t n, double z)
{
    if (n == 0) {
        return 0;
    }
    double nn = (double)n, ph = (double)hits / nn, z2 = z * z;
    double centre = ph + z2 / (2 * nn);
    double margin = z * sqrt(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
    double lo = (centre - margin) / (1 + z2 / nn);
    return lo < 0 ? 0 : lo;
}

typedef struct scored {
    double s;
    uint8_t hit;
} scored;

static int cmp_score_desc(const void *a, const void *b)
{
    double u = ((const scored *)a)->s, v = ((const scored *)b)->s;
    return (u < v) - (u > v);
}

tm_status tm__decide_choose(const double *score, const uint8_t *hit, size_t n, double target,
                            double *threshold, size_t *sel_n, size_t *sel_hits, double *lower,
                            tm_err *err)
{
    *threshold = INFINITY;
    *sel_n = *sel_hits = 0;
    *lower = NAN;
    scored *v = tm_malloc_n(n ? n : 1, sizeof *v);
    if (!v) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory choosing a threshold");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(score[i])) {
            v[m].s = score[i];
            v[m++].hit = hit[i] != 0;
        }
    }
    qsort(v, m, sizeof *v, cmp_score_desc);
    size_t cn = 0, ch = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j].s == v[i].s) {
            ch += v[j++].hit;
        }
        cn = j;
        double lb = tm__decide_wilson_lower(ch, cn, TM__DECIDE_Z);
        if (lb >= target) { /* a lower threshold reaching it replaces this one */
            *threshold = v[i].s;
            *sel_n = cn;
            *sel_hits = ch;
            *lower = lb;
        }
        i = j;
    }
    tm_free(v);
    return TM_OK;
}

void tm__decide_calibrate(const tm__decide_rule *r, const double *prob, size_t n, double *cal)
{
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) {
            cal[3 * i + c] = tm__decide_curve_at(&r->cal[c], prob[3 * i + c]);
        }
    }
}

/* Thresholds of both sides on rows [a, n) with the curves fitted. The
 * bar is the target and the side's base rate there, whichever is higher:
 * where the base rate alone clears the target, the lowest threshold would
 * otherwise call every row (a signal that knows nothing the base rate
 * does not). */
static tm_status choose_sides(const double *prob, const int *label, size_t a, size_t n,
                              tm__decide_rule *r, tm_err *err)
{
    size_t m = n - a;
    double *s = tm_malloc_n(m ? m : 1, sizeof *s);
    uint8_t *h = tm_malloc(m ? m : 1);
    tm_status st = TM_OK;
    if (!s || !h) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory choosing thresholds");
    }
    for (int c = 0; c < 3 && st == TM_OK; c += 2) {
        size_t pos = 0;
        for (size_t i = 0; i < m; i++) {
            s[i] = tm__decide_curve_at(&r->cal[c], prob[3 * (a + i) + c]);
            h[i] = label[a + i] == c;
            pos += h[i];
        }
        r->base_rate[c] = m ? (double)pos / (double)m : (double)NAN;
        double bar = r->base_rate[c] > r->target ? r->base_rate[c] : r->target;
        st = tm__decide_choose(s, h, m, bar, &r->threshold[c], &r->sel_n[c], &r->sel_hits[c],
                               &r->sel_lower[c], err);
    }
    tm_free(s);
    tm_free(h);
    return st;
}

tm_status tm__decide_fit(const double *prob, const int *label, const int32_t *date, size_t n,
                         double target, tm__decide_rule *r, tm_err *err)
{
    rule_empty(r, target);
    size_t n_dates = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i] < 0 || label[i] > 2) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, "label",
                          "expected a class 0..2 in validation row %zu, found %d", i, label[i]);
        }
        if (i > 0 && date[i] < date[i - 1]) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, "date",
                          "expected validation rows in date order, found %d after %d", date[i],
                          date[i - 1]);
        }
        n_dates += i == 0 || date[i] != date[i - 1];
    }
    /* Rows before `a` (the first ceil(n_dates / 2) dates) fit the curves. */
    size_t a = 0;
    for (size_t seen = 0; a < n; a++) {
        seen += a == 0 || date[a] != date[a - 1];
        if (seen > (n_dates + 1) / 2) {
            break;
        }
    }
    r->n_cal = a;
    r->n_thr = n - a;
    if (a > 0) {
        r->cal_from = date[0];
        r->cal_to = date[a - 1];
    }
    if (a < n) {
        r->thr_from = date[a];
        r->thr_to = date[n - 1];
    }
    double *x = tm_malloc_n(a ? a : 1, sizeof *x), *y = tm_malloc_n(a ? a : 1, sizeof *y);
    tm_status st = TM_OK;
    if (!x || !y) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory calibrating %zu rows", a);
    }
    for (int c = 0; c < 3 && st == TM_OK; c++) {
        for (size_t i = 0; i < a; i++) {
            x[i] = prob[3 * i + c];
            y[i] = label[i] == c;
        }
        st = tm__decide_pav(x, y, a, &r->cal[c], err);
    }
    tm_free(x);
    tm_free(y);
    if (st == TM_OK) {
        st = choose_sides(prob, label, a, n, r, err);
    }
    if (st != TM_OK) {
        tm__decide_rule_fini(r);
    }
    return st;
}

/* A call competing for the day's cap. */
typedef struct call {
    int32_t date;
    int label;
    double score, raw;
    size_t i;
} call;

static int cmp_call(const void *a, const void *b)
{
    const call *u = a, *v = b;
    if (u->date != v->date) {
        return (u->date > v->date) - (u->date < v->date);
    }
    if (u->label != v->label) {
        return u->label - v->label;
    }
    if (u->score != v->score) {
        return (u->score < v->score) - (u->score > v->score);
    }
    if (u->raw != v->raw) {
        return (u->raw < v->raw) - (u->raw > v->raw);
    }
    return (u->i > v->i) - (u->i < v->i);
}

/* The class of one row before the cap, and the score it competes with. */
static int decide_row(const tm__decide_rule *r, const double *p, double *c, double *score)
{
    if (!r) {
        c[0] = c[1] = c[2] = NAN;
        if (isnan(p[0]) || isnan(p[1]) || isnan(p[2])) {
            *score = NAN;
            return 1;
        }
        int best = 1; /* ties go to HOLD */
        if (p[2] > p[best]) {
            best = 2;
        }
        if (p[0] > p[best]) {
            best = 0;
        }
        *score = p[best];
        return best;
    }
    for (int k = 0; k < 3; k++) {
        c[k] = tm__decide_curve_at(&r->cal[k], p[k]);
    }
    bool buy = c[2] >= r->threshold[2], sell = c[0] >= r->threshold[0];
    if (buy && sell) {
        buy = c[2] > c[0];
        sell = c[0] > c[2];
    }
    *score = buy ? c[2] : sell ? c[0] : (double)NAN;
    return buy ? 2 : sell ? 0 : 1;
}

tm_status tm__decide_apply(const tm__decide_rule *r, const double *prob, const int32_t *date,
                           size_t n, int cap, int *label, uint8_t *capped, double *cal, tm_err *err)
{
    call *v = cap > 0 ? tm_malloc_n(n ? n : 1, sizeof *v) : NULL;
    if (cap > 0 && !v) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory deciding %zu rows", n);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double c[3], score;
        label[i] = decide_row(r, prob + 3 * i, c, &score);
        if (cal) {
            memcpy(cal + 3 * i, c, sizeof c);
        }
        if (capped) {
            capped[i] = 0;
        }
        if (v && label[i] != 1) {
            v[m++] = (call){date ? date[i] : 0, label[i], score, prob[3 * i + label[i]], i};
        }
    }
    if (v) {
        qsort(v, m, sizeof *v, cmp_call);
        size_t rank = 0;
        for (size_t k = 0; k < m; k++) {
            bool same = k > 0 && v[k].date == v[k - 1].date && v[k].label == v[k - 1].label;
            rank = same ? rank + 1 : 0;
            if (rank >= (size_t)cap) {
                label[v[k].i] = 1;
                if (capped) {
                    capped[v[k].i] = 1;
                }
            }
        }
    }
    tm_free(v);
    return TM_OK;
}

tm_status tm__decide_rule_json(const tm__decide_rule *r, tm_buf *out, tm_err *err)
{
    tm_jw w;
    tm_jw_init(&w, out, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false);
    tm_jw_object(&w);
    tm_jw_key(&w, "version");
    tm_jw_int(&w, 1);
    tm_jw_key(&w, "target");
    tm_jw_double(&w, r->target);
    static const char *const ints[6] = {"n_cal",  "n_thr",    "cal_from",
                                        "cal_to", "thr_from", "thr_to"};
    const int64_t iv[6] = {(int64_t)r->n_cal, (int64_t)r->n_thr, r->cal_from,
                           r->cal_to,         r->thr_from,       r->thr_to};
    for (int k = 0; k < 6; k++) {
        tm_jw_key(&w, ints[k]);
        tm_jw_int(&w, iv[k]);
    }
    tm_jw_key(&w, "classes");
    tm_jw_array(&w);
    for (int c = 0; c < 3; c++) {
        const tm__decide_curve *cv = &r->cal[c];
        tm_jw_object(&w);
        tm_jw_key(&w, "x");
        tm_jw_array(&w);
        for (size_t k = 0; k < cv->n; k++) {
            tm_jw_double(&w, cv->x[k]);
        }
        tm_jw_array_end(&w);
        tm_jw_key(&w, "y");
        tm_jw_array(&w);
        for (size_t k = 0; k < cv->n; k++) {
            tm_jw_double(&w, cv->y[k]);
        }
        tm_jw_array_end(&w);
        tm_jw_key(&w, "threshold");
        tm_jw_double(&w, r->threshold[c]);
        tm_jw_key(&w, "sel_n");
        tm_jw_int(&w, (int64_t)r->sel_n[c]);
        tm_jw_key(&w, "sel_hits");
        tm_jw_int(&w, (int64_t)r->sel_hits[c]);
        tm_jw_key(&w, "sel_lower");
        tm_jw_double(&w, r->sel_lower[c]);
        tm_jw_key(&w, "base_rate");
        tm_jw_double(&w, r->base_rate[c]);
        tm_jw_object_end(&w);
    }
    tm_jw_array_end(&w);
    tm_jw_object_end(&w);
    return tm_jw_finish(&w, err);
}

/* obj[key] as a number in lo..hi, or null (then *out = if_null). */
static tm_status num_or_null(const tm_json_ctx *x, const tm_json *obj, const char *where,
                             const char *key, double lo, double hi, double if_null, double *out)
{
    const tm_json *v = tm_json_get(obj, key);
    if (v && v->type == TM_JSON_NULL) {
        *out = if_null;
        return TM_OK;
    }
    tm_status st = tm_json_member_num(x, obj, where, key, false, 0, out);
    if (st == TM_OK && !(*out >= lo && *out <= hi)) {
        return tm_json_fail(x, TM_E_PARSE, v, where, key, "expected a number in %g..%g, found %g",
                            lo, hi, *out);
    }
    return st;
}

/* One class's curve and threshold figures from classes[c]. */
static tm_status parse_class(const tm_json_ctx *x, const tm_json *o, const char *where,
                             tm__decide_rule *r, int c)
{
    const tm_json *ax = NULL, *ay = NULL;
    tm_status st = tm_json_member_nums(x, o, where, "x", TM_JSON_ANY_LEN, false, &ax);
    if (st == TM_OK) {
        st = tm_json_member_nums(x, o, where, "y", ax->len, false, &ay);
    }
    if (st != TM_OK) {
        return st;
    }
    tm__decide_curve *cv = &r->cal[c];
    size_t n = ax->len;
    cv->x = tm_malloc_n(n ? n : 1, sizeof *cv->x);
    cv->y = tm_malloc_n(n ? n : 1, sizeof *cv->y);
    if (!cv->x || !cv->y) {
        return TM_ERR(x->err, TM_E_NOMEM, x->path, 0, NULL, "out of memory reading a rule");
    }
    cv->n = n;
    for (size_t k = 0; k < n && st == TM_OK; k++) {
        st = tm_json_num_at(x, ax, where, k, &cv->x[k]);
        if (st == TM_OK) {
            st = tm_json_num_at(x, ay, where, k, &cv->y[k]);
        }
        if (st == TM_OK && (!(cv->y[k] >= 0 && cv->y[k] <= 1) || isnan(cv->x[k]) ||
                            (k > 0 && (cv->x[k] <= cv->x[k - 1] || cv->y[k] < cv->y[k - 1])))) {
            return tm_json_fail(x, TM_E_PARSE, o, where, "x",
                                "expected ascending knots with non-decreasing values in 0..1, "
                                "found knot %zu at %g -> %g",
                                k, cv->x[k], cv->y[k]);
        }
    }
    int64_t sn = 0, sh = 0;
    if (st == TM_OK) {
        st = num_or_null(x, o, where, "threshold", 0, 1, INFINITY, &r->threshold[c]);
    }
    if (st == TM_OK) {
        st = tm_json_member_int(x, o, where, "sel_n", 0, INT64_MAX, false, 0, &sn);
    }
    if (st == TM_OK) {
        st = tm_json_member_int(x, o, where, "sel_hits", 0, sn, false, 0, &sh);
    }
    if (st == TM_OK) {
        st = num_or_null(x, o, where, "sel_lower", 0, 1, NAN, &r->sel_lower[c]);
    }
    if (st == TM_OK) {
        st = num_or_null(x, o, where, "base_rate", 0, 1, NAN, &r->base_rate[c]);
    }
    r->sel_n[c] = (size_t)sn;
    r->sel_hits[c] = (size_t)sh;
    return st;
}

tm_status tm__decide_rule_parse(const char *text, const char *where, tm__decide_rule *r,
                                tm_err *err)
{
    rule_empty(r, NAN);
    tm_json_doc *doc = NULL;
    tm_status st = tm_json_parse(text, strlen(text), where, &doc, err);
    if (st != TM_OK) {
        return st;
    }
    tm_json_ctx x = {.path = where, .has_lines = true, .err = err};
    const tm_json *root = tm_json_root(doc), *cls = NULL;
    int64_t iv[7] = {0};
    static const char *const ints[7] = {"version", "n_cal",    "n_thr", "cal_from",
                                        "cal_to",  "thr_from", "thr_to"};
    for (int k = 0; k < 7 && st == TM_OK; k++) {
        st = tm_json_member_int(&x, root, "", ints[k], k == 0 ? 1 : 0, k == 0 ? 1 : INT32_MAX,
                                false, 0, &iv[k]);
    }
    if (st == TM_OK) {
        st = num_or_null(&x, root, "", "target", 0, 1, NAN, &r->target);
    }
    if (st == TM_OK) {
        st = tm_json_member(&x, root, "", "classes", TM_JSON_ARRAY, false, &cls);
    }
    if (st == TM_OK && cls->len != 3) {
        st = tm_json_fail(&x, TM_E_PARSE, cls, "", "classes",
                          "expected 3 classes (SELL, HOLD, BUY), found %zu", cls->len);
    }
    for (int c = 0; c < 3 && st == TM_OK; c++) {
        char path[32];
        snprintf(path, sizeof path, "classes[%d]", c);
        st = tm_json_expect(&x, tm_json_at(cls, (size_t)c), cls, "classes", NULL, TM_JSON_OBJECT);
        if (st == TM_OK) {
            st = parse_class(&x, tm_json_at(cls, (size_t)c), path, r, c);
        }
    }
    r->n_cal = (size_t)iv[1];
    r->n_thr = (size_t)iv[2];
    r->cal_from = (int32_t)iv[3];
    r->cal_to = (int32_t)iv[4];
    r->thr_from = (int32_t)iv[5];
    r->thr_to = (int32_t)iv[6];
    tm_json_doc_free(doc);
    if (st != TM_OK) {
        tm__decide_rule_fini(r);
    }
    return st;
}

void tm__decide_describe(const tm__decide_rule *r, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len,
                                "  decision rule: calibrated on %zu validation rows, thresholds "
                                "on %zu later rows for a precision whose Wilson 95%% lower bound "
                                "reaches %.2f and the side's base rate",
                                r->n_cal, r->n_thr, r->target);
    for (int c = 2; c >= 0 && k < len; c -= 2) {
        if (isinf(r->threshold[c])) {
            k += (size_t)snprintf(buf + k, len - k, "; %s abstains (no threshold reaches it)",
                                  side_name[c]);
        } else {
            k += (size_t)snprintf(buf + k, len - k,
                                  "; %s at calibrated p >= %.3f (%zu of %zu right: precision "
                                  "%.3f, lower bound %.3f, base rate %.3f)",
                                  side_name[c], r->threshold[c], r->sel_hits[c], r->sel_n[c],
                                  r->sel_n[c] ? (double)r->sel_hits[c] / (double)r->sel_n[c]
                                              : (double)NAN,
                                  r->sel_lower[c], r->base_rate[c]);
        }
    }
    if (k < len) {
        snprintf(buf + k, len - k, "\n");
    }
}
