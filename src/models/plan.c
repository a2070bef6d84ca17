/* Building a plan step by step from the model file's tensors. */
#include "models/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every weight block starts on a 64-byte boundary for the SIMD kernels. */
#define MNET_GEMM_MIN_CHANNELS 16
#define MNET_WEIGHT_ALIGN_FLOATS 16

/* Room for `need` items of `item` bytes in *array (capacity *cap); -1 with
 * b's error set when out of memory. */
static int grow(mnet_plan_builder *b, void **array, int *cap, int need, size_t item) {
    if (need <= *cap) return 0;
    int next = *cap ? *cap * 2 : 16;
    while (next < need) next *= 2;
    void *p = realloc(*array, (size_t)next * item);
    if (!p) {
        mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory building the plan");
        return -1;
    }
    *array = p;
    *cap = next;
    return 0;
}

static int new_tensor(mnet_plan_builder *b, const char *name, int h, int w, int c,
                      int producer) {
    mnet_plan *p = b->plan;
    if (grow(b, (void **)&p->tensors, &p->cap_tensors, p->num_tensors + 1, sizeof *p->tensors))
        return -1;
    mnet_plan_tensor *t = &p->tensors[p->num_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->h = h;
    t->w = w;
    t->c = c;
    t->producer = producer;
    t->last_use = -1;
    return p->num_tensors++;
}

static mnet_step *new_step(mnet_plan_builder *b) {
    mnet_plan *p = b->plan;
    if (grow(b, (void **)&p->steps, &p->cap_steps, p->num_steps + 1, sizeof *p->steps))
        return NULL;
    mnet_step *s = &p->steps[p->num_steps];
    memset(s, 0, sizeof *s);
    s->residual = -1;
    return s;
}

/* Reserves n floats in the weight block; returns the offset or SIZE_MAX. */
static size_t reserve_weights(mnet_plan_builder *b, size_t n) {
    mnet_plan *p = b->plan;
    size_t start = (p->weights_floats + MNET_WEIGHT_ALIGN_FLOATS - 1) /
                   MNET_WEIGHT_ALIGN_FLOATS * MNET_WEIGHT_ALIGN_FLOATS;
    size_t end = start + n;
    if (end > p->cap_weights) {
        size_t cap = p->cap_weights ? p->cap_weights : 1 << 16;
        while (cap < end) cap *= 2;
        float *w = aligned_alloc(64, cap * sizeof(float));
        if (!w) {
            mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory for %zu weights", end);
            return SIZE_MAX;
        }
        if (p->weights) memcpy(w, p->weights, p->weights_floats * sizeof(float));
        free(p->weights);
        p->weights = w;
        p->cap_weights = cap;
    }
    memset(p->weights + p->weights_floats, 0, (end - p->weights_floats) * sizeof(float));
    p->weights_floats = end;
    return start;
}

static void format_shape(char *out, size_t size, const int64_t *shape, int rank) {
    size_t used = 0;
    out[0] = '\0';
    used += (size_t)snprintf(out, size, "[");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size) snprintf(out + used, size - used, "]");
}

/* Finds tensor `name`, checks dtype (F32/F16) and exact shape, and returns it
 * converted to float in a temporary malloc'd buffer (caller frees). */
float *mnet_plan_load_tensor(mnet_plan_builder *b, const char *name, const int64_t *shape,
                             int rank) {
    const mnet_st_tensor *t = mnet_st_find(b->st, name);
    char want[96], got[96];
    if (!t) {
        format_shape(want, sizeof want, shape, rank);
        mnet_fail(b->error, MNET_ERR_MODEL, "tensor '%s' %s is missing", name, want);
        return NULL;
    }
    if (t->dtype != MNET_DTYPE_F32 && t->dtype != MNET_DTYPE_F16) {
        mnet_fail(b->error, MNET_ERR_MODEL, "tensor '%s' has dtype %s, expected F16 or F32",
                  name, mnet_dtype_name(t->dtype));
        return NULL;
    }
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (!same) {
        format_shape(want, sizeof want, shape, rank);
        format_shape(got, sizeof got, t->shape, t->rank);
        mnet_fail(b->error, MNET_ERR_MODEL, "tensor '%s' has shape %s, expected %s", name, got,
                  want);
        return NULL;
    }
    if (!b->weights_dtype) b->weights_dtype = t->dtype == MNET_DTYPE_F16 ? "f16" : "f32";
    float *out = malloc((size_t)(t->count ? t->count : 1) * sizeof(float));
    if (!out) {
        mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", name);
        return NULL;
    }
    if (mnet_st_read_f32(t, out, b->error) != MNET_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* Loads `<prefix>.bias` [n] into the weight block; returns offset or SIZE_MAX. */
static size_t load_bias(mnet_plan_builder *b, const char *prefix, int n) {
    char name[128];
    snprintf(name, sizeof name, "%s.bias", prefix);
    int64_t shape[1] = {n};
    float *bias = mnet_plan_load_tensor(b, name, shape, 1);
    if (!bias) return SIZE_MAX;
    size_t off = reserve_weights(b, (size_t)n);
    if (off != SIZE_MAX) memcpy(b->plan->weights + off, bias, (size_t)n * sizeof(float));
    free(bias);
    return off;
}

int mnet_plan_add_input(mnet_plan_builder *b, int h, int w, int c) {
    int t = new_tensor(b, "input", h, w, c, -1);
    b->plan->input = t;
    return t;
}

static void mark_use(mnet_plan *p, int tensor) {
    if (tensor >= 0) p->tensors[tensor].last_use = p->num_steps;
}

int mnet_plan_add_conv(mnet_plan_builder *b, const char *tap, const char *prefix, int input,
                       int out_c, int kernel, int stride, int dilation, int groups,
                       mnet_activation act, int residual) {
    mnet_plan *p = b->plan;
    const mnet_plan_tensor *in = &p->tensors[input];
    if (strlen(prefix) >= MNET_PREFIX_MAX) {
        mnet_fail(b->error, MNET_ERR_INTERNAL, "layer '%s': weight prefix too long", tap);
        return -1;
    }
    mnet_conv_geometry g;
    if (mnet_conv_geometry_init(&g, in->h, in->w, in->c, out_c, kernel, stride, dilation,
                                groups, b->config->padding) != 0) {
        mnet_fail(b->error, MNET_ERR_MODEL,
                  "layer '%s': %dx%dx%d input too small for kernel %d stride %d dilation %d",
                  tap, in->h, in->w, in->c, kernel, stride, dilation);
        return -1;
    }
    if (residual >= 0) {
        const mnet_plan_tensor *r = &p->tensors[residual];
        if (r->h != g.out_h || r->w != g.out_w || r->c != out_c) {
            mnet_fail(b->error, MNET_ERR_INTERNAL, "layer '%s': residual shape mismatch", tap);
            return -1;
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int in_per_group = in->c / groups;
    int64_t shape[4] = {out_c, kernel, kernel, in_per_group};
    float *w = mnet_plan_load_tensor(b, name, shape, 4);
    if (!w) return -1;

    const mnet_kernels *k = p->kernels;
    mnet_step_kind kind;
    size_t packed;
    if (groups == in->c && groups == out_c && groups > 1) {
        kind = MNET_STEP_DEPTHWISE;
        packed = k->depthwise_packed_size(&g);
    } else if (kernel == 1 && stride == 1 && groups == 1) {
        kind = MNET_STEP_POINTWISE;
        packed = k->pointwise_packed_size(in->c, out_c);
    } else {
        kind = MNET_STEP_CONV;
        packed = k->conv2d_packed_size(&g);
    }
    /* Regular convolutions on many channels (SSD extra layers, DeepLab's
     * atrous and decoder 3x3) run as GEMM tiles through the pointwise
     * kernel, which is near the FMA peak; the 3-channel stem keeps its own
     * kernel. */
    int gemm = kind == MNET_STEP_CONV && groups == 1 && in->c >= MNET_GEMM_MIN_CHANNELS;
    if (gemm) packed = k->pointwise_packed_size(kernel * kernel * in->c, out_c);
    size_t woff = reserve_weights(b, packed);
    if (woff == SIZE_MAX) {
        free(w);
        return -1;
    }
    float *dst = p->weights + woff;
    if (gemm)
        k->pointwise_pack(kernel * kernel * in->c, out_c, w, dst);
    else if (kind == MNET_STEP_DEPTHWISE)
        k->depthwise_pack(&g, w, dst);
    else if (kind == MNET_STEP_POINTWISE)
        k->pointwise_pack(in->c, out_c, w, dst);
    else
        k->conv2d_pack(&g, w, dst);
    free(w);

    size_t boff = load_bias(b, prefix, out_c);
    if (boff == SIZE_MAX) return -1;

    int out = new_tensor(b, tap, g.out_h, g.out_w, out_c, p->num_steps);
    if (out < 0) return -1;
    mnet_step *s = new_step(b);
    if (!s) return -1;
    s->kind = kind;
    s->gemm = gemm;
    s->input = input;
    s->output = out;
    s->residual = residual;
    s->geom = g;
    s->act = act;
    s->weights_offset = woff;
    s->bias_offset = boff;
    snprintf(s->weights, sizeof s->weights, "%s", prefix);
    s->parameters = (int64_t)out_c * kernel * kernel * in_per_group + out_c;
    s->macs = (int64_t)g.out_h * g.out_w * out_c * kernel * kernel * in_per_group;
    mark_use(p, input);
    mark_use(p, residual);
    p->num_steps++;
    p->macs += s->macs;
    p->parameters += s->parameters;
    return out;
}

int mnet_plan_add_global_pool(mnet_plan_builder *b, const char *tap, int input) {
    mnet_plan *p = b->plan;
    const mnet_plan_tensor *in = &p->tensors[input];
    int out = new_tensor(b, tap, 1, 1, in->c, p->num_steps);
    if (out < 0) return -1;
    mnet_step *s = new_step(b);
    if (!s) return -1;
    const mnet_plan_tensor *src = &p->tensors[input];
    s->kind = MNET_STEP_GLOBAL_POOL;
    s->input = input;
    s->output = out;
    s->geom.in_h = src->h;
    s->geom.in_w = src->w;
    s->geom.in_c = s->geom.out_c = src->c;
    s->geom.out_h = s->geom.out_w = 1;
    s->geom.kernel_h = src->h;
    s->geom.kernel_w = src->w;
    s->geom.stride_h = s->geom.stride_w = 1;
    s->geom.dilation_h = s->geom.dilation_w = 1;
    s->geom.groups = src->c;
    s->macs = (int64_t)src->h * src->w * src->c;
    mark_use(p, input);
    p->num_steps++;
    p->macs += s->macs;
    return out;
}

/* A step with no weights whose geometry only records sizes. */
static mnet_step *add_plain_step(mnet_plan_builder *b, mnet_step_kind kind, const char *tap,
                                 int input, int out_h, int out_w, int out_c, int *out) {
    mnet_plan *p = b->plan;
    *out = new_tensor(b, tap, out_h, out_w, out_c, p->num_steps);
    if (*out < 0) return NULL;
    mnet_step *s = new_step(b);
    if (!s) return NULL;
    const mnet_plan_tensor *in = &p->tensors[input];
    s->kind = kind;
    s->input = input;
    s->output = *out;
    s->geom.in_h = in->h;
    s->geom.in_w = in->w;
    s->geom.in_c = in->c;
    s->geom.out_h = out_h;
    s->geom.out_w = out_w;
    s->geom.out_c = out_c;
    s->geom.kernel_h = s->geom.kernel_w = 1;
    s->geom.stride_h = s->geom.stride_w = 1;
    s->geom.dilation_h = s->geom.dilation_w = 1;
    s->geom.groups = 1;
    return s;
}

int mnet_plan_add_resize(mnet_plan_builder *b, const char *tap, int input, int out_h, int out_w,
                         mnet_resize_mode mode) {
    int out;
    mnet_step *s = add_plain_step(b, MNET_STEP_RESIZE, tap, input, out_h, out_w,
                                  b->plan->tensors[input].c, &out);
    if (!s) return -1;
    s->resize_mode = mode;
    s->macs = (int64_t)out_h * out_w * b->plan->tensors[input].c * 4;
    mark_use(b->plan, input);
    b->plan->num_steps++;
    b->plan->macs += s->macs;
    return out;
}

int mnet_plan_add_concat(mnet_plan_builder *b, const char *tap, const int *inputs, int n) {
    mnet_plan *p = b->plan;
    if (n < 1 || n > MNET_MAX_CONCAT) {
        mnet_fail(b->error, MNET_ERR_INTERNAL, "layer '%s': %d concat inputs", tap, n);
        return -1;
    }
    int channels = 0;
    for (int i = 0; i < n; i++) {
        const mnet_plan_tensor *t = &p->tensors[inputs[i]];
        if (t->h != p->tensors[inputs[0]].h || t->w != p->tensors[inputs[0]].w) {
            mnet_fail(b->error, MNET_ERR_MODEL, "layer '%s': concatenating %dx%d with %dx%d", tap,
                      p->tensors[inputs[0]].h, p->tensors[inputs[0]].w, t->h, t->w);
            return -1;
        }
        channels += t->c;
    }
    int out;
    mnet_step *s = add_plain_step(b, MNET_STEP_CONCAT, tap, inputs[0], p->tensors[inputs[0]].h,
                                  p->tensors[inputs[0]].w, channels, &out);
    if (!s) return -1;
    s->num_inputs = n;
    for (int i = 0; i < n; i++) {
        s->inputs[i] = inputs[i];
        mark_use(p, inputs[i]);
    }
    p->num_steps++;
    return out;
}

int mnet_plan_add_fc(mnet_plan_builder *b, const char *tap, const char *prefix, int input,
                     int out_n, mnet_activation act) {
    mnet_plan *p = b->plan;
    int in_n = p->tensors[input].c;
    if (p->tensors[input].h != 1 || p->tensors[input].w != 1) {
        mnet_fail(b->error, MNET_ERR_INTERNAL, "layer '%s': input is not 1x1", tap);
        return -1;
    }
    if (strlen(prefix) >= MNET_PREFIX_MAX) {
        mnet_fail(b->error, MNET_ERR_INTERNAL, "layer '%s': weight prefix too long", tap);
        return -1;
    }
    char name[128];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[2] = {out_n, in_n};
    float *w = mnet_plan_load_tensor(b, name, shape, 2);
    if (!w) return -1;
    const mnet_kernels *k = p->kernels;
    size_t woff = reserve_weights(b, k->pointwise_packed_size(in_n, out_n));
    if (woff == SIZE_MAX) {
        free(w);
        return -1;
    }
    k->pointwise_pack(in_n, out_n, w, p->weights + woff);
    free(w);
    size_t boff = load_bias(b, prefix, out_n);
    if (boff == SIZE_MAX) return -1;
    int out = new_tensor(b, tap, 1, 1, out_n, p->num_steps);
    if (out < 0) return -1;
    mnet_step *s = new_step(b);
    if (!s) return -1;
    s->kind = MNET_STEP_FC;
    s->input = input;
    s->output = out;
    s->act = act;
    s->geom.in_h = s->geom.in_w = s->geom.out_h = s->geom.out_w = 1;
    s->geom.in_c = in_n;
    s->geom.out_c = out_n;
    s->geom.kernel_h = s->geom.kernel_w = 1;
    s->geom.stride_h = s->geom.stride_w = 1;
    s->geom.dilation_h = s->geom.dilation_w = 1;
    s->geom.groups = 1;
    s->weights_offset = woff;
    s->bias_offset = boff;
    snprintf(s->weights, sizeof s->weights, "%s", prefix);
    s->parameters = (int64_t)in_n * out_n + out_n;
    s->macs = (int64_t)in_n * out_n;
    mark_use(p, input);
    p->num_steps++;
    p->macs += s->macs;
    p->parameters += s->parameters;
    return out;
}

int mnet_plan_mark_block(mnet_plan_builder *b, int num_steps) {
    mnet_plan *p = b->plan;
    if (grow(b, (void **)&p->blocks, &p->cap_blocks, p->num_blocks + 1, sizeof *p->blocks))
        return -1;
    mnet_fused_block *blk = &p->blocks[p->num_blocks];
    memset(blk, 0, sizeof *blk);
    blk->first_step = p->num_steps - num_steps;
    blk->num_steps = num_steps;
    const mnet_step *s = &p->steps[blk->first_step];
    blk->geometry.has_expand = num_steps == 3;
    if (num_steps == 3) blk->geometry.expand = (s++)->geom;
    blk->geometry.depthwise = (s++)->geom;
    blk->geometry.project = s->geom;
    mnet_invres_plan_tiles(&blk->geometry);
    p->num_blocks++;
    return 0;
}

int mnet_plan_mark_pooled_projection(mnet_plan_builder *b, const char *prefix) {
    mnet_plan *p = b->plan;
    if (p->num_steps < 3) return 0;
    const mnet_step *resize = &p->steps[p->num_steps - 3];
    const mnet_step *concat = resize + 1, *proj = resize + 2;
    if (resize->kind != MNET_STEP_RESIZE || concat->kind != MNET_STEP_CONCAT ||
        proj->kind != MNET_STEP_POINTWISE || proj->residual >= 0 || concat->num_inputs != 2 ||
        concat->inputs[0] != resize->output || proj->input != concat->output)
        return 0;
    const mnet_plan_tensor *pooled = &p->tensors[resize->input];
    if (pooled->h != 1 || pooled->w != 1) return 0;
    int in_c = proj->geom.in_c, out_c = proj->geom.out_c, pooled_c = pooled->c;
    int rest_c = in_c - pooled_c;
    char name[128];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[4] = {out_c, 1, 1, in_c};
    float *w = mnet_plan_load_tensor(b, name, shape, 4);
    if (!w) return -1;
    const mnet_kernels *k = p->kernels;
    size_t n = (size_t)out_c * (size_t)(pooled_c > rest_c ? pooled_c : rest_c);
    float *part = malloc(n * sizeof(float));
    size_t poff = reserve_weights(b, k->pointwise_packed_size(pooled_c, out_c));
    size_t roff = poff == SIZE_MAX ? SIZE_MAX
                                   : reserve_weights(b, k->pointwise_packed_size(rest_c, out_c));
    if (!part || roff == SIZE_MAX) {
        free(w);
        free(part);
        if (!part) mnet_fail(b->error, MNET_ERR_OUT_OF_MEMORY, "out of memory building the plan");
        return -1;
    }
    for (int o = 0; o < out_c; o++)
        memcpy(part + (size_t)o * pooled_c, w + (size_t)o * in_c, (size_t)pooled_c * sizeof(float));
    k->pointwise_pack(pooled_c, out_c, part, p->weights + poff);
    for (int o = 0; o < out_c; o++)
        memcpy(part + (size_t)o * rest_c, w + (size_t)o * in_c + pooled_c,
               (size_t)rest_c * sizeof(float));
    k->pointwise_pack(rest_c, out_c, part, p->weights + roff);
    free(w);
    free(part);
    if (grow(b, (void **)&p->blocks, &p->cap_blocks, p->num_blocks + 1, sizeof *p->blocks))
        return -1;
    mnet_fused_block *blk = &p->blocks[p->num_blocks];
    memset(blk, 0, sizeof *blk);
    blk->first_step = p->num_steps - 3;
    blk->num_steps = 3;
    blk->kind = MNET_BLOCK_POOLED_PROJECTION;
    blk->pooled_weights_offset = poff;
    blk->rest_weights_offset = roff;
    p->num_blocks++;
    return 0;
}

int mnet_plan_add_classifier(mnet_plan_builder *b, int features) {
    b->plan->output = features;
    if (b->config->num_classes <= 0) return 0;
    int x = mnet_plan_add_global_pool(b, "pool", features);
    if (x >= 0) x = mnet_plan_add_fc(b, "logits", "classifier", x, b->config->num_classes, MNET_ACT_NONE);
    if (x < 0) return -1;
    b->plan->output = x;
    return 0;
}

void mnet_plan_free(mnet_plan *plan) {
    if (!plan) return;
    free(plan->detector.anchors);
    free(plan->blocks);
    free(plan->steps);
    free(plan->tensors);
    free(plan->weights);
    memset(plan, 0, sizeof *plan);
}

int mnet_plan_find_tensor(const mnet_plan *plan, const char *name) {
    for (int i = 0; i < plan->num_tensors; i++)
        if (strcmp(plan->tensors[i].name, name) == 0) return i;
    return -1;
}
