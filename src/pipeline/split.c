/* Which samples train, validate or are left out of a fit. Samples come
 * ordered by date; a split works on whole dates (every stock of a day on
 * the same side), and an embargo of the label horizon keeps out the dates
 * whose forward-return windows overlap the held-out dates (DESIGN "Honest
 * validation"). Used by the base-model and the meta-learner retrains. */
#include <string.h>

#include "pipeline_int.h"

tm_status tm__pipeline_dates_index(const int32_t *row_date, size_t n_rows, tm__pipeline_dates *d,
                                   tm_err *err)
{
    memset(d, 0, sizeof *d);
    d->date = tm_malloc_n(n_rows ? n_rows : 1, sizeof *d->date);
    d->pos = tm_malloc_n(n_rows ? n_rows : 1, sizeof *d->pos);
    if (!d->date || !d->pos) {
        tm__pipeline_dates_free(d);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory indexing %zu sample dates",
                      n_rows);
    }
    for (size_t r = 0; r < n_rows; r++) {
        if (r > 0 && row_date[r] < row_date[r - 1]) {
            tm__pipeline_dates_free(d);
            return TM_ERR(err, TM_E_INTERNAL, NULL, 0, "training_samples",
                          "expected samples in date order, found " TM__YMD_FMT
                          " after " TM__YMD_FMT,
                          TM__YMD(row_date[r]), TM__YMD(row_date[r - 1]));
        }
        if (d->n_dates == 0 || d->date[d->n_dates - 1] != row_date[r]) {
            d->date[d->n_dates++] = row_date[r];
        }
        d->pos[r] = d->n_dates - 1;
    }
    d->n_rows = n_rows;
    return TM_OK;
}

void tm__pipeline_dates_free(tm__pipeline_dates *d)
{
    tm_free(d->date);
    tm_free(d->pos);
    memset(d, 0, sizeof *d);
}

void tm__pipeline_split_time(const tm__pipeline_dates *d, size_t n_valid_dates, size_t embargo,
                             uint8_t *role)
{
    size_t first_valid = n_valid_dates < d->n_dates ? d->n_dates - n_valid_dates : 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        size_t dp = d->pos[r];
        role[r] = dp >= first_valid             ? TM__PIPELINE_VALID
                  : dp + embargo >= first_valid ? TM__PIPELINE_EMBARGO
                                                : TM__PIPELINE_TRAIN;
    }
}

void tm__pipeline_split_fold(const tm__pipeline_dates *d, size_t from, size_t to, size_t embargo,
                             uint8_t *role)
{
    for (size_t r = 0; r < d->n_rows; r++) {
        size_t dp = d->pos[r];
        role[r] = dp >= from && dp < to                       ? TM__PIPELINE_HELD_OUT
                  : dp + embargo >= from && dp < to + embargo ? TM__PIPELINE_EMBARGO
                                                              : TM__PIPELINE_TRAIN;
    }
}

void tm__pipeline_split_blocks(const tm__pipeline_dates *d, size_t n_blocks, size_t n_valid_dates,
                               size_t embargo, uint8_t *role)
{
    size_t len = n_blocks ? n_valid_dates / n_blocks : 0;
    for (size_t r = 0; r < d->n_rows; r++) {
        role[r] = TM__PIPELINE_TRAIN;
    }
    for (size_t b = 0; b < n_blocks && len > 0; b++) {
        size_t to = d->n_dates * (b + 1) / n_blocks;
        size_t from = to > len ? to - len : 0;
        for (size_t r = 0; r < d->n_rows; r++) {
            size_t dp = d->pos[r];
            if (dp >= from && dp < to) {
                role[r] = TM__PIPELINE_VALID;
            } else if (role[r] == TM__PIPELINE_TRAIN && dp + embargo >= from && dp < to + embargo) {
                role[r] = TM__PIPELINE_EMBARGO;
            }
        }
    }
}
