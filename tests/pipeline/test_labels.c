/* Labels and validation of the retrains: the multi-block time split with
 * its embargo (positions worked out by hand), and the retrain reports'
 * comparison of each model's validation loss with the prior's (the share
 * and the "<1% over prior" flag on hand values). */
#include <math.h>
#include <string.h>

#include "pipeline/pipeline_int.h"
#include "tm_test.h"

/* 20 dates, two rows on date 5 and one on every other: 2 blocks of 4 / 2
 * = 2 dates, block 0 ending at 20 * 1 / 2 = 10 (dates 8, 9), block 1 at
 * 20 (dates 18, 19); an embargo of 1 date takes 7 and 10, and 17. */
START_TEST(split_blocks_spreads_validation_with_embargo)
{
    int32_t date[21];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        date[n++] = 20180101 + i;
        if (i == 5) {
            date[n++] = 20180101 + i;
        }
    }
    tm__pipeline_dates d;
    ck_assert_int_eq(tm__pipeline_dates_index(date, n, &d, NULL), TM_OK);
    ck_assert_uint_eq(d.n_dates, 20);
    uint8_t role[21];
    tm__pipeline_split_blocks(&d, 2, 4, 1, role);
    /* expected role per date position: T train, V valid, E embargo */
    const char *want = "TTTTTTTEVVETTTTTTEVV";
    for (size_t r = 0; r < n; r++) {
        char c = "TVEH"[role[r]];
        ck_assert_msg(c == want[d.pos[r]], "row %zu (date %zu): %c, expected %c", r, d.pos[r], c,
                      want[d.pos[r]]);
    }
    /* one block is the latest-dates split */
    uint8_t one[21];
    tm__pipeline_split_blocks(&d, 1, 3, 2, one);
    tm__pipeline_split_time(&d, 3, 2, role);
    ck_assert_mem_eq(one, role, n);
    /* no validation dates: everything trains */
    tm__pipeline_split_blocks(&d, 4, 3, 2, one);
    for (size_t r = 0; r < n; r++) {
        ck_assert_int_eq(one[r], TM__PIPELINE_TRAIN);
    }
    tm__pipeline_dates_free(&d);
}
END_TEST

/* 0.995 against 1.0 is 0.5% better (flagged); 0.98 is 2% (not); a loss
 * worse than the prior or unknown is flagged too. */
START_TEST(prior_gain_flags_models_under_one_percent)
{
    ck_assert_double_eq_tol(tm__pipeline_prior_gain(0.98, 1.0), 0.02, 1e-12);
    ck_assert(isnan(tm__pipeline_prior_gain(NAN, 1.0)));
    ck_assert(isnan(tm__pipeline_prior_gain(0.5, 0.0)));
    tm_pipeline_report rep;
    tm__pipeline_report_init(&rep, "model_retrain", 20180102);
    tm__pipeline_say_prior(&rep, 0.995, 1.0);
    ck_assert_str_eq(rep.summary, "loss 0.9950 vs prior 1.0000 (+0.5%) <1% over prior");
    rep.summary[0] = 0;
    tm__pipeline_say_prior(&rep, 0.98, 1.0);
    ck_assert_str_eq(rep.summary, "loss 0.9800 vs prior 1.0000 (+2.0%)");
    rep.summary[0] = 0;
    tm__pipeline_say_prior(&rep, 0.99, 1.0); /* exactly 1%: not flagged */
    ck_assert_ptr_null(strstr(rep.summary, "<1%"));
    rep.summary[0] = 0;
    tm__pipeline_say_prior(&rep, 1.1, 1.0);
    ck_assert_str_eq(rep.summary, "loss 1.1000 vs prior 1.0000 (-10.0%) <1% over prior");
}
END_TEST

TM_TEST_SUITE(pipeline_labels);
TM_TEST_SUITE(pipeline_labels)
{
    Suite *s = suite_create("pipeline_labels");
    TCase *tc = tcase_create("labels");
    tcase_add_test(tc, split_blocks_spreads_validation_with_embargo);
    tcase_add_test(tc, prior_gain_flags_models_under_one_percent);
    suite_add_tcase(s, tc);
    return s;
}
