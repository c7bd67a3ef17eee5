/* Read-only getters and the model summary (tm_forest_get_info). */
#include <string.h>

#include "forest/forest_int.h"

tm_forest_family tm_forest_get_family(const tm_forest *f)
{
    return f->family;
}

int tm_forest_n_features(const tm_forest *f)
{
    return f->n_features;
}

int tm_forest_n_outputs(const tm_forest *f)
{
    return f->n_outputs;
}

const char *tm_forest_feature_name(const tm_forest *f, int i)
{
    if (!f->feature_names || i < 0 || i >= f->n_features) {
        return NULL;
    }
    return f->feature_names[i];
}

const char *tm_forest_class_name(const tm_forest *f, int i)
{
    if (!f->class_names || i < 0 || i >= f->n_classes) {
        return NULL;
    }
    return f->class_names[i];
}

static const char *link_name(tm__link link)
{
    switch (link) {
    case TM__LINK_IDENTITY:
        return "identity";
    case TM__LINK_SIGMOID:
        return "sigmoid";
    case TM__LINK_SOFTMAX:
        return "softmax";
    case TM__LINK_OVA_SIGMOID:
        return "sigmoid per class (one-vs-all)";
    case TM__LINK_EXP:
        return "exp";
    case TM__LINK_SIGNED_SQUARE:
        return "signed square (sqrt-trained regression)";
    case TM__LINK_LOG1P_EXP:
        return "log1p(exp)";
    }
    return "unknown";
}

/* Depth of general tree t (the IR was validated by finish). */
static int tree_depth(const tm_forest *f, int32_t t, long *n_leaves)
{
    int32_t first = f->tree_first[t], n = f->tree_n_nodes[t];
    int32_t stack_n[64], stack_d[64];
    int top = 0, max_depth = 0;
    stack_n[top] = first;
    stack_d[top++] = 0;
    while (top > 0) {
        top--;
        int32_t nd = stack_n[top], d = stack_d[top];
        max_depth = d > max_depth ? d : max_depth;
        if (f->flags[nd] & TM__NODE_LEAF) {
            (*n_leaves)++;
            continue;
        }
        if (top + 2 > 64) {
            /* Deeper than the small stack: count the rest as the max. */
            max_depth = max_depth > 63 ? max_depth : 63;
            continue;
        }
        stack_n[top] = f->left[nd];
        stack_d[top++] = d + 1;
        stack_n[top] = f->right[nd];
        stack_d[top++] = d + 1;
    }
    (void)n;
    return max_depth;
}

void tm_forest_get_info(const tm_forest *f, tm_forest_info *info)
{
    memset(info, 0, sizeof *info);
    info->family = f->family;
    info->format_name = tm_forest_format_name(f->format);
    info->objective = f->objective ? f->objective : "";
    info->link = link_name(f->link);
    info->n_classes = f->n_classes;
    info->n_outputs = f->n_outputs;
    info->n_features = f->n_features;
    info->n_trees = f->n_trees;
    info->oblivious = f->oblivious;
    info->has_categorical = f->has_categorical;
    info->has_linear = f->lin_const != NULL;
    info->max_depth = f->max_depth;
    for (int32_t t = 0; t < f->n_trees; t++) {
        int d;
        if (f->oblivious) {
            d = f->obl_depth[t];
            info->n_leaves += 1L << d;
            info->n_nodes += (1L << d) + d;
        } else {
            d = tree_depth(f, t, &info->n_leaves);
            info->n_nodes += f->tree_n_nodes[t];
        }
        info->depth_hist[d < 32 ? d : 32]++;
    }
    size_t bytes = sizeof *f;
    bytes += (size_t)f->n_trees * (3 * sizeof(int32_t) + sizeof(double));
    bytes += (size_t)f->n_nodes *
             (5 * sizeof(int32_t) + sizeof(double) + sizeof(float) + 1 + sizeof(int32_t));
    bytes += (size_t)f->n_leaves * (size_t)f->leaf_dim * sizeof(double);
    bytes += (size_t)f->n_cat_words * sizeof(uint32_t);
    bytes += (size_t)f->n_obl_splits * (sizeof(int32_t) + sizeof(float) + 1);
    if (f->lin_const) {
        bytes += (size_t)f->n_leaves * (sizeof(double) + 2 * sizeof(int32_t));
        bytes += (size_t)f->n_lin_terms * (sizeof(int32_t) + sizeof(double));
    }
    bytes += tm__forest_compiled_bytes(f->compiled);
    info->memory_bytes = bytes;
}
