/* LightGBM model.txt loading, private to the three load_lightgbm*.c files:
 * the text primitives (load_lightgbm_text.c), the Tree= section
 * (load_lightgbm_tree.c); the header, the parameters section and the
 * driver are load_lightgbm.c's. */
#ifndef TM_FOREST_LOAD_LIGHTGBM_INT_H
#define TM_FOREST_LOAD_LIGHTGBM_INT_H

#include "forest/forest_int.h"

/* Unread text of a model.txt, or of one value. */
typedef struct tm__forest_lgb_text {
    const char *p, *end; /* unread text */
    long line;           /* lines consumed so far */
} tm__forest_lgb_text;

/* A line, or the value of a key=value line (set when present; p is NULL
 * when not set). */
typedef struct tm__forest_lgb_span {
    const char *p;
    size_t n;
    long line; /* 1-based line of the text */
    bool set;
} tm__forest_lgb_span;

#define TM__LGB_SHOW(n) ((int)((n) < 40 ? (n) : 40)) /* token bytes quoted in messages */

bool tm__forest_lgb_starts_with(const char *s, size_t n, const char *prefix);
bool tm__forest_lgb_equals(const char *s, size_t n, const char *word);
/* Next line [*s, *s + *n), without its newline or final '\r'; false at the end. */
bool tm__forest_lgb_line(tm__forest_lgb_text *c, const char **s, size_t *n);
/* Next line as a span with its line number; false (and unset) at the end. */
bool tm__forest_lgb_next_line(tm__forest_lgb_text *c, tm__forest_lgb_span *out);
/* The tokens of a value (empty when the span is not set). */
tm__forest_lgb_text tm__forest_lgb_tokens(const tm__forest_lgb_span *s);
/* Next token separated by spaces or tabs; false when none is left. */
bool tm__forest_lgb_tok(tm__forest_lgb_text *t, const char **s, size_t *n);
size_t tm__forest_lgb_count(const tm__forest_lgb_span *s); /* tokens; 0 when not set */
/* Parses an integer in lo..hi; errors name path, line and field. */
tm_status tm__forest_lgb_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out,
                             const char *path, long line, const char *field, tm_err *err);
/* When ln is "key=value" with key keys[k], stores the value in vals[k]
 * (a repeated key: the last one wins, as in LightGBM's reader). */
void tm__forest_lgb_match_key(const tm__forest_lgb_span *ln, const char *const *keys, int n_keys,
                              tm__forest_lgb_span *vals);

/* Parses the Tree= blocks into f (n_features and n_outputs set) and the
 * line that ends them: "end of trees" (version 2-4: 0 stands for a file
 * without version line, which cannot have it), or for version 0 and 2
 * files (written without it by LightGBM 2.0.5-2.1.2) the "feature
 * importances:" line those versions write next, or the end of a file
 * whose tree_sizes (sizes) account for every byte of every tree. Anything
 * else is refused as truncated. c is left after the ending line. */
tm_status tm__forest_lgb_trees(tm_forest *f, tm__forest_lgb_text *c, int version,
                               const tm__forest_lgb_span *sizes, const char *path, tm_err *err);

#endif
