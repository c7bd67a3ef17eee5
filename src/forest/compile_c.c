/* Ahead-of-time compilation: the tree walk and margin sums of a forest as
 * one self-contained C file. Every tree becomes a function of straight-line
 * compares and gotos that returns its leaf index; a fixed kernel sums the
 * leaves over blocks of rows in the reference predictor's order and
 * precision (predict_ref.c), so the built file reproduces its margins bit
 * for bit. The link stays with the loaded model (tm_forest_predict_compiled):
 * the file carries a fingerprint of its own body, which the caller
 * recomputes from the model to prove both describe the same trees. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "forest/forest_int.h"
#include "forest/predict_int.h"

/* Rows a generated kernel walks per tree before moving to the next tree
 * (keeps a tree's code hot across rows). */
#define ROW_BLOCK 32

/* Appends x as an exact C literal (hex float; f32 adds the f suffix). */
static void put_num(tm_buf *b, double x, bool f32)
{
    if (isnan(x)) {
        tm_buf_puts(b, f32 ? "NAN" : "(double)NAN");
    } else if (isinf(x)) {
        tm_buf_puts(b, x > 0 ? (f32 ? "INFINITY" : "(double)INFINITY")
                             : (f32 ? "-INFINITY" : "-(double)INFINITY"));
    } else {
        tm_buf_printf(b, f32 ? "%af" : "%a", x);
    }
}

/* The input expression of feature j as the trees see it. */
static void put_input(tm_buf *b, const tm_forest *f, int32_t j)
{
    tm_buf_printf(b, f->zero_tiny_inputs ? "in(x[%d])" : "x[%d]", (int)j);
}

/* Appends the condition under which node nd sends the row left, with the
 * rule order of tm__forest_go_left: NaN, categorical, zero-missing, compare. */
static void put_cond(tm_buf *b, const tm_forest *f, int32_t nd)
{
    uint8_t fl = f->flags[nd];
    bool nl = fl & TM__NODE_NAN_LEFT;
    bool f32 = f->cmp != TM__CMP_LE_F64;
    double t = f32 ? (double)f->threshold_f[nd] : f->threshold[nd];
    if (fl & TM__NODE_CATEGORICAL) {
        bool in_left = fl & TM__NODE_CAT_IN_LEFT;
        tm_buf_printf(b, "(v = ");
        put_input(b, f, f->feature[nd]);
        tm_buf_printf(b, ", isnan(v) ? %d : %s%s(v, %d, %d))", nl, in_left ? "" : "!",
                      f->cmp == TM__CMP_LT_F32 ? "cat_f32" : "cat_f64", (int)f->cat_first[nd],
                      (int)f->cat_n_words[nd]);
        return;
    }
    const char *op = f->cmp == TM__CMP_LT_F32 ? "<" : "<=";
    const char *neg = f->cmp == TM__CMP_LT_F32 ? ">=" : ">";
    const char *cast = f32 ? "(float)" : "";
    if (!(fl & TM__NODE_ZERO_MISSING) && !isnan(t)) {
        /* Every compare with NaN is false: the negated form sends NaN left. */
        tm_buf_printf(b, nl ? "!(%s" : "(%s", cast);
        put_input(b, f, f->feature[nd]);
        tm_buf_printf(b, " %s ", nl ? neg : op);
        put_num(b, t, f32);
        tm_buf_puts(b, ")");
        return;
    }
    tm_buf_printf(b, "(v = ");
    put_input(b, f, f->feature[nd]);
    tm_buf_printf(b, ", isnan(v) ? %d : ", nl);
    if (fl & TM__NODE_ZERO_MISSING) {
        tm_buf_printf(b, "v == 0.0 ? %d : ", (fl & TM__NODE_DEFAULT_LEFT) != 0);
    }
    tm_buf_printf(b, "%sv %s ", cast, op);
    put_num(b, t, f32);
    tm_buf_puts(b, ")");
}

/* Emits general tree t: preorder with the left child next, so a split is
 * one test and a jump to its right subtree. stack holds tree_n_nodes[t]. */
static void put_tree(tm_buf *b, const tm_forest *f, int32_t t, int32_t *stack)
{
    int32_t n = 0;
    bool need_v = false;
    for (int32_t i = 0; i < f->tree_n_nodes[t]; i++) {
        int32_t nd = f->tree_first[t] + i;
        uint8_t fl = f->flags[nd];
        double th = f->cmp == TM__CMP_LE_F64 ? f->threshold[nd] : (double)f->threshold_f[nd];
        if (!(fl & TM__NODE_LEAF) &&
            ((fl & (TM__NODE_CATEGORICAL | TM__NODE_ZERO_MISSING)) || isnan(th))) {
            need_v = true;
        }
    }
    tm_buf_printf(b, "static int32_t t%d(const double *restrict x)\n{\n", (int)t);
    if (need_v) {
        tm_buf_puts(b, "    double v;\n");
    }
    if (f->flags[f->tree_first[t]] & TM__NODE_LEAF) {
        tm_buf_puts(b, "    (void)x;\n");
    }
    stack[n++] = f->tree_first[t];
    while (n > 0) {
        int32_t nd = stack[--n];
        if (nd < 0) { /* a right child: reached by a jump */
            nd = -1 - nd;
            tm_buf_printf(b, "n%d:\n", (int)nd);
        }
        if (f->flags[nd] & TM__NODE_LEAF) {
            tm_buf_printf(b, "    return %d;\n", (int)f->leaf_index[nd]);
            continue;
        }
        tm_buf_puts(b, "    if (!");
        put_cond(b, f, nd);
        tm_buf_printf(b, ") {\n        goto n%d;\n    }\n", (int)f->right[nd]);
        stack[n++] = -1 - f->right[nd];
        stack[n++] = f->left[nd];
    }
    tm_buf_puts(b, "}\n\n");
}

/* Emits oblivious tree t: split i sets bit i of the leaf index
 * (tm__forest_oblivious_leaf). */
static void put_oblivious_tree(tm_buf *b, const tm_forest *f, int32_t t)
{
    tm_buf_printf(b, "static int32_t t%d(const double *restrict x)\n{\n    int32_t i = 0;\n",
                  (int)t);
    for (int32_t s = 0; s < f->obl_depth[t]; s++) {
        int32_t sp = f->obl_first[t] + s;
        int j = (int)f->obl_feature[sp];
        double bo = (double)f->obl_border[sp];
        bool one = f->obl_nan_one[sp];
        tm_buf_puts(b, "    i |= (int32_t)");
        if (isnan(bo)) {
            tm_buf_printf(b, "(isnan(x[%d]) ? %d : (float)x[%d] > NAN)", j, one, j);
        } else {
            tm_buf_printf(b, one ? "!((float)x[%d] <= " : "((float)x[%d] > ", j);
            put_num(b, bo, true);
            tm_buf_puts(b, ")");
        }
        tm_buf_printf(b, " << %d;\n", (int)s);
    }
    tm_buf_printf(b, "    return %d + i;\n}\n\n", (int)f->obl_leaf_first[t]);
}

/* Appends n doubles (or uint32 words) as the body of a static table. */
static void put_table_f64(tm_buf *b, const char *decl, const double *v, size_t n)
{
    tm_buf_printf(b, "static const double %s[%zu] = {", decl, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        tm_buf_puts(b, i % 4 == 0 ? "\n    " : " ");
        put_num(b, v[i], false);
        tm_buf_puts(b, ",");
    }
    tm_buf_puts(b, n ? "\n};\n" : "0.0};\n");
}

static void put_table_i32(tm_buf *b, const char *decl, const int32_t *v, size_t n)
{
    tm_buf_printf(b, "static const int32_t %s[%zu] = {", decl, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        tm_buf_printf(b, "%s%d,", i % 12 == 0 ? "\n    " : " ", (int)v[i]);
    }
    tm_buf_puts(b, n ? "\n};\n" : "0};\n");
}

/* The categorical tests of category_in (predict_ref.c), per family. */
static const char cat_helpers[] = "static int cat_f32(double x, int32_t first, int32_t n_words)\n"
                                  "{\n"
                                  "    float xf = (float)x;\n"
                                  "    if (xf < 0.0f || xf >= 16777216.0f) {\n"
                                  "        return 0;\n"
                                  "    }\n"
                                  "    int64_t c = (int64_t)(double)xf;\n"
                                  "    if (c < 0 || c / 32 >= n_words) {\n"
                                  "        return 0;\n"
                                  "    }\n"
                                  "    return (int)((cat_bits[first + c / 32] >> (c % 32)) & 1u);\n"
                                  "}\n\n"
                                  "static int cat_f64(double x, int32_t first, int32_t n_words)\n"
                                  "{\n"
                                  "    if (x <= -1.0 || x >= 2147483647.0) {\n"
                                  "        return 0;\n"
                                  "    }\n"
                                  "    int64_t c = (int64_t)x;\n"
                                  "    if (c < 0 || c / 32 >= n_words) {\n"
                                  "        return 0;\n"
                                  "    }\n"
                                  "    return (int)((cat_bits[first + c / 32] >> (c % 32)) & 1u);\n"
                                  "}\n\n";

static const char preamble[] =
        "#include <float.h>\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
        "#if defined(__FAST_MATH__)\n"
        "#error \"build without -ffast-math: the trees need IEEE compares and sums\"\n"
        "#endif\n"
        "#if FLT_EVAL_METHOD != 0\n"
        "#error \"float and double arithmetic must round to their own precision (FLT_EVAL_METHOD "
        "0)\"\n"
        "#endif\n\n"
        "extern const char tm_compiled_abi[];\n"
        "extern const uint64_t tm_compiled_fingerprint;\n"
        "extern const int32_t tm_compiled_n_features, tm_compiled_n_outputs;\n"
        "void tm_compiled_margins(const double *X, size_t n_rows, size_t stride, double *out);\n\n"
        "const char tm_compiled_abi[] = \"" TM_FOREST_COMPILED_ABI "\";\n";

/* A product kept out of FMA contraction (the reference rounds it alone). */
static const char mul_helper[] = "static double mul(double a, double b)\n"
                                 "{\n"
                                 "    volatile double p = a * b;\n"
                                 "    return p;\n"
                                 "}\n\n";

/* The kernel: blocks of rows, trees in order, sums as row_margins. */
static void put_kernel(tm_buf *b, const tm_forest *f)
{
    int32_t K = f->n_outputs;
    bool bias_last = f->family == TM_FOREST_CATBOOST;
    tm_buf_printf(b,
                  "typedef int32_t (*tree_fn)(const double *restrict x);\n"
                  "static const tree_fn trees[%d] = {",
                  f->n_trees > 0 ? (int)f->n_trees : 1);
    for (int32_t t = 0; t < f->n_trees; t++) {
        tm_buf_printf(b, "%st%d,", t % 10 == 0 ? "\n    " : " ", (int)t);
    }
    tm_buf_puts(b, f->n_trees > 0 ? "\n};\n\n" : "0};\n\n");
    tm_buf_printf(b,
                  "void tm_compiled_margins(const double *X, size_t n_rows, size_t stride, "
                  "double *out)\n{\n"
                  "    for (size_t r0 = 0; r0 < n_rows; r0 += %d) {\n"
                  "        size_t nb = n_rows - r0 < %d ? n_rows - r0 : %d;\n"
                  "        float acc_f[%d][%d];\n        double acc[%d][%d];\n"
                  "        (void)acc_f;\n        (void)acc;\n"
                  "        for (size_t r = 0; r < nb; r++) {\n"
                  "            for (int k = 0; k < %d; k++) {\n"
                  "                acc_f[r][k] = (float)base_score[k];\n"
                  "                acc[r][k] = %s;\n            }\n        }\n"
                  "        for (int32_t t = 0; t < %d; t++) {\n"
                  "            tree_fn fn = trees[t];\n"
                  "            for (size_t r = 0; r < nb; r++) {\n"
                  "                int32_t leaf = fn(X + (r0 + r) * stride);\n",
                  ROW_BLOCK, ROW_BLOCK, ROW_BLOCK, ROW_BLOCK, (int)K, ROW_BLOCK, (int)K, (int)K,
                  bias_last ? "0.0" : "base_score[k]", (int)f->n_trees);
    if (f->leaf_dim == 1) {
        const char *k = K > 1 ? "tree_output[t]" : "0";
        const char *v =
                f->has_tree_weight ? "mul(leaf_values[leaf], tree_weight[t])" : "leaf_values[leaf]";
        if (f->sum_f32) {
            tm_buf_printf(b, "                acc_f[r][%s] += (float)%s;\n", k, v);
        } else {
            tm_buf_printf(b, "                acc[r][%s] += %s;\n", k, v);
        }
    } else {
        tm_buf_printf(b,
                      "                for (int k = 0; k < %d; k++) {\n"
                      "                    acc[r][k] += leaf_values[(size_t)leaf * %d + k];\n"
                      "                }\n",
                      (int)K, (int)f->leaf_dim);
    }
    tm_buf_puts(b, "            }\n        }\n"
                   "        for (size_t r = 0; r < nb; r++) {\n");
    tm_buf_printf(b,
                  "            for (int k = 0; k < %d; k++) {\n"
                  "                out[(r0 + r) * %d + k] = ",
                  (int)K, (int)K);
    if (f->sum_f32) {
        tm_buf_puts(b, "(double)acc_f[r][k]");
    } else if (bias_last) {
        tm_buf_puts(b, "mul(");
        put_num(b, f->scale, false);
        tm_buf_puts(b, ", acc[r][k]) + base_score[k]");
    } else {
        tm_buf_puts(b, "acc[r][k]");
    }
    tm_buf_puts(b, ";\n            }\n        }\n    }\n}\n\n");
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    }
    return h;
}

/* Why f cannot be compiled, or NULL. */
static const char *unsupported(const tm_forest *f)
{
    if (f->lin_const) {
        return "linear leaves (LightGBM linear_tree)";
    }
    if (f->oblivious && f->zero_tiny_inputs) {
        return "oblivious trees with LightGBM's zero band";
    }
    if (f->n_outputs < 1 || f->n_outputs > TM__MAX_OUTPUTS) {
        return "its number of outputs";
    }
    return NULL;
}

/* The hashed body: everything the margins depend on. */
static tm_status put_body(tm_buf *b, const tm_forest *f, tm_err *err)
{
    int32_t max_nodes = 1;
    for (int32_t t = 0; !f->oblivious && t < f->n_trees; t++) {
        max_nodes = f->tree_n_nodes[t] > max_nodes ? f->tree_n_nodes[t] : max_nodes;
    }
    int32_t *stack = tm_malloc_n((size_t)max_nodes + 1, sizeof *stack);
    if (!stack) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    tm_buf_puts(b, preamble);
    tm_buf_printf(b,
                  "const int32_t tm_compiled_n_features = %d;\n"
                  "const int32_t tm_compiled_n_outputs = %d;\n\n",
                  (int)f->n_features, (int)f->n_outputs);
    put_table_f64(b, "base_score", f->base_score, (size_t)f->n_outputs);
    put_table_f64(b, "leaf_values", f->leaf_values, (size_t)f->n_leaves * (size_t)f->leaf_dim);
    if (f->leaf_dim == 1 && f->n_outputs > 1) {
        put_table_i32(b, "tree_output", f->tree_output, (size_t)f->n_trees);
    }
    if (f->leaf_dim == 1 && f->has_tree_weight) {
        put_table_f64(b, "tree_weight", f->tree_weight, (size_t)f->n_trees);
    }
    tm_buf_puts(b, "\n");
    if ((f->leaf_dim == 1 && f->has_tree_weight) ||
        (!f->sum_f32 && f->family == TM_FOREST_CATBOOST)) {
        tm_buf_puts(b, mul_helper);
    }
    if (f->zero_tiny_inputs) {
        tm_buf_puts(b, "static inline double in(double v)\n{\n    return fabs(v) <= ");
        put_num(b, f->zero_band, false);
        tm_buf_puts(b, " ? 0.0 : v;\n}\n\n");
    }
    if (f->has_categorical) {
        tm_buf_printf(b, "static const uint32_t cat_bits[%d] = {",
                      f->n_cat_words > 0 ? (int)f->n_cat_words : 1);
        for (int32_t i = 0; i < f->n_cat_words; i++) {
            tm_buf_printf(b, "%s0x%08xu,", i % 6 == 0 ? "\n    " : " ", (unsigned)f->cat_bits[i]);
        }
        tm_buf_puts(b, f->n_cat_words > 0 ? "\n};\n\n" : "0};\n\n");
        /* Only the family's helper, so the file builds with -Wall -Werror. */
        const char *helper = strstr(cat_helpers, "static int cat_f64");
        if (f->cmp == TM__CMP_LT_F32) {
            tm_buf_append(b, cat_helpers, (size_t)(helper - cat_helpers));
        } else {
            tm_buf_puts(b, helper);
        }
    }
    for (int32_t t = 0; t < f->n_trees && !b->oom; t++) {
        if (f->oblivious) {
            put_oblivious_tree(b, f, t);
        } else {
            put_tree(b, f, t, stack);
        }
    }
    put_kernel(b, f);
    tm_free(stack);
    return TM_OK;
}

tm_status tm_forest_compile_c(const tm_forest *f, const char *source, char **out, size_t *len,
                              uint64_t *fingerprint, tm_err *err)
{
    if (out) {
        *out = NULL;
    }
    if (!f || !fingerprint || (out && !len)) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "compile: bad arguments");
    }
    const char *why = unsupported(f);
    if (why) {
        return TM_ERR(err, TM_E_FORMAT, source, 0, NULL, "compile: %s is not supported", why);
    }
    tm_buf b;
    tm_buf_init(&b);
    if (out) {
        /* The head comment names the source; it is outside the hash. */
        tm_buf_puts(&b, "/* Generated by turbomode compile from ");
        for (const char *p = source ? source : "a model"; *p; p++) {
            bool plain = (*p >= ' ' && *p < 127 && *p != '*' && *p != '\\');
            tm_buf_append(&b, plain ? p : "?", 1);
        }
        tm_buf_printf(&b,
                      ": %d trees, %d outputs.\n"
                      " * Build: cc -O2 -shared -fPIC FILE.c -o FILE.so (no -ffast-math).\n"
                      " * Use: turbomode predict --model MODEL --compiled FILE.so ...\n"
                      " * The model file still gives the output link; the fingerprint\n"
                      " * below must match it. */\n",
                      (int)f->n_trees, (int)f->n_outputs);
    }
    size_t head = b.len;
    tm_status st = put_body(&b, f, err);
    if (st != TM_OK) {
        tm_buf_fini(&b);
        return st;
    }
    if (b.oom) {
        tm_buf_fini(&b);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for the C source");
    }
    *fingerprint = fnv1a(b.p + head, b.len - head);
    if (!out) {
        tm_buf_fini(&b);
        return TM_OK;
    }
    tm_buf_printf(&b, "const uint64_t tm_compiled_fingerprint = 0x%016llxu;\n",
                  (unsigned long long)*fingerprint);
    *len = b.len;
    return tm_buf_take(&b, out, err);
}

/* Rows per call of the compiled kernel in tm_forest_predict_compiled. */
#define RUN_CHUNK 256

tm_status tm_forest_predict_compiled(const tm_forest *f, tm_forest_margins_fn fn, const double *X,
                                     size_t n_rows, size_t stride, tm_forest_output kind,
                                     int n_threads, double *out, tm_err *err)
{
    if (!f || !fn || (!X && n_rows) || (!out && n_rows) || stride < (size_t)f->n_features) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "predict: bad arguments (stride %zu, model has %d features)", stride,
                      f ? f->n_features : 0);
    }
    if (n_rows == 0) {
        return TM_OK;
    }
    size_t n_chunks = (n_rows + RUN_CHUNK - 1) / RUN_CHUNK, nout = (size_t)f->n_outputs;
    size_t width = tm_forest_output_len(f, kind);
    int nt = 1;
#ifdef _OPENMP
    nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
#endif
    nt = (size_t)nt > n_chunks ? (int)n_chunks : nt;
    double *m = tm_malloc_n((size_t)nt * RUN_CHUNK, nout * sizeof *m);
    if (!m) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for predict scratch");
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t c = 0; c < n_chunks; c++) {
        int id = 0;
#ifdef _OPENMP
        id = omp_get_thread_num();
#endif
        double *mc = m + (size_t)id * RUN_CHUNK * nout;
        size_t r0 = c * RUN_CHUNK, nb = n_rows - r0 < RUN_CHUNK ? n_rows - r0 : RUN_CHUNK;
        fn(X + r0 * stride, nb, stride, mc);
        for (size_t r = 0; r < nb; r++) {
            tm__forest_transform(f, kind, mc + r * nout, out + (r0 + r) * width);
        }
    }
    tm_free(m);
    return TM_OK;
}
