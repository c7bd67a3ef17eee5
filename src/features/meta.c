/* Labels (forward return against +-thresholds) and the meta features of
 * the stacked ensemble, exactly as DESIGN "The 55 meta features" lists
 * them: 3M probabilities, 3M per-model derived values, 7 aggregates. */
#include <math.h>
#include <stdio.h>

#include <turbomode/features.h>

void tm_features_label_opts_init(tm_features_label_opts *o)
{
    o->horizon = 5;
    o->up = TM_FEATURES_DEFAULT_UP;
    o->down = TM_FEATURES_DEFAULT_DOWN;
}

int tm_features_label(double fwd_return, const tm_features_label_opts *o)
{
    if (fwd_return > o->up) {
        return TM_FEATURES_BUY;
    }
    if (fwd_return < -o->down) {
        return TM_FEATURES_SELL;
    }
    return TM_FEATURES_HOLD;
}

double tm_features_forward_return(const double *close, size_t n, size_t t, size_t h)
{
    if (t >= n || h >= n - t) {
        return NAN;
    }
    return close[t + h] / close[t] - 1.0;
}

size_t tm_features_meta_count(size_t m)
{
    return 6 * m + 7;
}

char *tm_features_meta_name(size_t m, size_t i, char *buf, size_t len)
{
    static const char *const cls[3] = {"sell", "hold", "buy"};
    static const char *const derived[3] = {"asymmetry", "max_directional", "neutral_dominance"};
    static const char *const agg[7] = {
            "avg_asymmetry", "std_asymmetry",  "avg_max_directional", "avg_neutral_dominance",
            "buy_consensus", "sell_consensus", "hold_consensus"};
    if (i < 3 * m) {
        snprintf(buf, len, "m%zu_%s", i / 3 + 1, cls[i % 3]);
    } else if (i < 6 * m) {
        snprintf(buf, len, "%s_%zu", derived[(i - 3 * m) % 3], (i - 3 * m) / 3 + 1);
    } else if (i < 6 * m + 7) {
        snprintf(buf, len, "%s", agg[i - 6 * m]);
    } else if (len) {
        buf[0] = 0;
    }
    return buf;
}

void tm_features_meta(const double *probs, size_t m, double *out)
{
    double sum_asym = 0, sum_maxdir = 0, sum_neutral = 0;
    double votes[3] = {0, 0, 0};
    for (size_t k = 0; k < m; k++) {
        double s = probs[3 * k], h = probs[3 * k + 1], b = probs[3 * k + 2];
        out[3 * k] = s;
        out[3 * k + 1] = h;
        out[3 * k + 2] = b;
        double asym = b - s, maxdir = b > s ? b : s, neutral = h - maxdir;
        out[3 * m + 3 * k] = asym;
        out[3 * m + 3 * k + 1] = maxdir;
        out[3 * m + 3 * k + 2] = neutral;
        sum_asym += asym;
        sum_maxdir += maxdir;
        sum_neutral += neutral;
        votes[tm_argmax(probs + 3 * k, 3, 1)] += 1; /* ties to the lower class */
    }
    double dm = m ? (double)m : 1.0;
    double avg = sum_asym / dm, var = 0;
    for (size_t k = 0; k < m; k++) {
        double d = out[3 * m + 3 * k] - avg;
        var += d * d;
    }
    double *a = out + 6 * m;
    a[0] = avg;
    a[1] = sqrt(var / dm); /* population std */
    a[2] = sum_maxdir / dm;
    a[3] = sum_neutral / dm;
    a[4] = votes[2] / dm;
    a[5] = votes[0] / dm;
    a[6] = votes[1] / dm;
}
