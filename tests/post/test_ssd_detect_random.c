/* mnet_ssd_detect against a literal O(n^2) transcription of TFLite's
 * DetectionPostProcess written here: decode every box, threshold, stable
 * sort, an active-flag suppression loop, per-class NMS merged by a full
 * sort. Random scenes, half of them on coarse grids of scores and box
 * coordinates so that ties and IoU equalities really happen. */
#include <stdint.h>
#include <string.h>

#include "post/detection.h"
#include "test_util.h"

#define MAX_ANCHORS 400
#define MAX_COLS 8
#define MAX_OUT 512

typedef struct det {
    int anchor, cls;
    float score;
} det;

typedef struct scene {
    int n, layers, columns;
    size_t layer_anchors[4];
    mnet_anchor_box anchors[MAX_ANCHORS];
    float enc[MAX_ANCHORS * 4];
    float scores[MAX_ANCHORS * MAX_COLS];
    float boxes[MAX_ANCHORS * 4];     /* reference decoding of every anchor */
    float act[MAX_ANCHORS * MAX_COLS]; /* reference activation */
} scene;

static float ref_iou(const float *a, const float *b) {
    float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if (area_a <= 0 || area_b <= 0) return 0.0f;
    float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    float inter = (ih > 0 ? ih : 0.0f) * (iw > 0 ? iw : 0.0f);
    return inter / (area_a + area_b - inter);
}

static void ref_activate(scene *s, const mnet_nms_params *p) {
    for (int a = 0; a < s->n; a++) {
        const float *row = s->scores + a * s->columns;
        float m = row[0], sum = 0.0f;
        for (int c = 1; c < s->columns; c++) m = row[c] > m ? row[c] : m;
        for (int c = 0; c < s->columns; c++) sum += expf(row[c] - m);
        for (int c = 0; c < p->num_classes; c++) {
            float x = row[p->background_columns + c];
            float v = x;
            if (p->activation == MNET_SCORE_SIGMOID) v = 1.0f / (1.0f + expf(-x));
            if (p->activation == MNET_SCORE_SOFTMAX) v = expf(x - m) / sum;
            s->act[a * MAX_COLS + c] = v;
        }
    }
}

/* TFLite NonMaxSuppressionSingleClassHelper: indices of the kept anchors. */
static int ref_single_class(const scene *s, const float *score, float threshold, float iou,
                            int max_keep, int *selected) {
    int keep[MAX_ANCHORS], n = 0;
    for (int a = 0; a < s->n; a++)
        if (score[a] >= threshold) keep[n++] = a;
    /* stable decreasing sort by insertion */
    for (int i = 1; i < n; i++) {
        int v = keep[i], j = i;
        while (j > 0 && score[keep[j - 1]] < score[v]) keep[j] = keep[j - 1], j--;
        keep[j] = v;
    }
    unsigned char active[MAX_ANCHORS];
    memset(active, 1, sizeof active);
    int count = 0, num_active = n;
    for (int i = 0; i < n; i++) {
        if (num_active == 0 || count >= max_keep) break;
        if (!active[i]) continue;
        selected[count++] = keep[i];
        active[i] = 0;
        num_active--;
        for (int j = i + 1; j < n; j++)
            if (active[j] && ref_iou(s->boxes + 4 * keep[i], s->boxes + 4 * keep[j]) > iou) {
                active[j] = 0;
                num_active--;
            }
    }
    return count;
}

static int ref_fast(const scene *s, const mnet_nms_params *p, det *out) {
    float best[MAX_ANCHORS];
    for (int a = 0; a < s->n; a++) {
        best[a] = s->act[a * MAX_COLS];
        for (int c = 1; c < p->num_classes; c++)
            if (s->act[a * MAX_COLS + c] > best[a]) best[a] = s->act[a * MAX_COLS + c];
    }
    int selected[MAX_ANCHORS];
    int kept = ref_single_class(s, best, p->score_threshold, p->iou_threshold,
                                p->max_detections, selected);
    int per_box = p->max_classes_per_detection < p->num_classes ? p->max_classes_per_detection
                                                                 : p->num_classes;
    int count = 0;
    for (int i = 0; i < kept; i++) {
        int a = selected[i];
        unsigned char used[MAX_COLS] = {0};
        for (int k = 0; k < per_box; k++) {
            int pick = -1;
            for (int c = 0; c < p->num_classes; c++)
                if (!used[c] && (pick < 0 || s->act[a * MAX_COLS + c] > s->act[a * MAX_COLS + pick]))
                    pick = c;
            used[pick] = 1;
            out[count++] = (det){a, pick, s->act[a * MAX_COLS + pick]};
        }
    }
    return count; /* TFLite's rows: every class of up to max_detections boxes */
}

static int det_before(const det *x, const det *y) {
    if (x->score != y->score) return x->score > y->score;
    if (x->anchor != y->anchor) return x->anchor < y->anchor;
    return x->cls < y->cls;
}

static int ref_regular(const scene *s, const mnet_nms_params *p, det *out) {
    static det all[MAX_ANCHORS * MAX_COLS];
    int total = 0;
    for (int c = 0; c < p->num_classes; c++) {
        float score[MAX_ANCHORS];
        int selected[MAX_ANCHORS];
        for (int a = 0; a < s->n; a++) score[a] = s->act[a * MAX_COLS + c];
        int kept = ref_single_class(s, score, p->score_threshold, p->iou_threshold,
                                    p->detections_per_class, selected);
        for (int i = 0; i < kept; i++) all[total++] = (det){selected[i], c, score[selected[i]]};
    }
    for (int i = 1; i < total; i++) {
        det v = all[i];
        int j = i;
        while (j > 0 && det_before(&v, &all[j - 1])) all[j] = all[j - 1], j--;
        all[j] = v;
    }
    int count = total < p->max_detections ? total : p->max_detections;
    memcpy(out, all, (size_t)count * sizeof *out);
    return count;
}

static float coarse(test_rng *r, float lo, float hi, int coarse_grid) {
    float v = test_rng_float(r, lo, hi);
    return coarse_grid ? floorf(v * 8.0f) / 8.0f : v;
}

static void make_scene(test_rng *r, scene *s, mnet_nms_params *p, const mnet_box_coder *coder) {
    int grid = test_rng_int(r, 0, 1);
    memset(p, 0, sizeof *p);
    p->num_classes = test_rng_int(r, 1, 6);
    p->background_columns = test_rng_int(r, 0, 1);
    p->activation = (mnet_score_activation)test_rng_int(r, 0, 2);
    p->iou_threshold = grid ? 0.5f : test_rng_float(r, 0.1f, 0.9f);
    p->max_detections = test_rng_int(r, 1, 40);
    p->max_classes_per_detection = test_rng_int(r, 1, 4);
    p->detections_per_class = test_rng_int(r, 1, 60);
    p->regular = test_rng_int(r, 0, 1);
    s->columns = p->num_classes + p->background_columns;
    s->layers = test_rng_int(r, 1, 4);
    s->n = 0;
    for (int l = 0; l < s->layers; l++) {
        s->layer_anchors[l] = (size_t)test_rng_int(r, 0, MAX_ANCHORS / 4);
        s->n += (int)s->layer_anchors[l];
    }
    for (int a = 0; a < s->n; a++) {
        mnet_anchor_box *b = &s->anchors[a];
        b->yc = coarse(r, 0, 1, grid);
        b->xc = coarse(r, 0, 1, grid);
        b->h = coarse(r, 0.125f, 0.5f, grid);
        b->w = coarse(r, 0.125f, 0.5f, grid);
        for (int i = 0; i < 4; i++) s->enc[4 * a + i] = grid ? 0.0f : test_rng_float(r, -2, 2);
        for (int c = 0; c < s->columns; c++) {
            float x = p->activation == MNET_SCORE_IDENTITY ? coarse(r, 0, 1, grid)
                                                           : coarse(r, -4, 4, grid);
            s->scores[a * s->columns + c] = x;
        }
        mnet_decode_box(s->enc + 4 * a, b, coder, s->boxes + 4 * a);
    }
    float t = p->activation == MNET_SCORE_SOFTMAX ? test_rng_float(r, 0.05f, 0.4f)
                                                    : test_rng_float(r, 0.2f, 0.8f);
    p->score_threshold = grid ? floorf(t * 8.0f) / 8.0f : t;
    ref_activate(s, p);
}

int main(void) {
    static scene s;
    test_rng rng = {0x2545f4914f6cdd1dull};
    const mnet_box_coder coder = {10.0f, 10.0f, 5.0f, 5.0f, 0, 0.0f};
    int mismatched_scenes = 0, nonempty = 0, with_ties = 0;
    for (int trial = 0; trial < 600; trial++) {
        mnet_nms_params p;
        make_scene(&rng, &s, &p, &coder);
        static det want[MAX_OUT];
        int want_n = p.regular ? ref_regular(&s, &p, want) : ref_fast(&s, &p, want);
        int tflite_rows = want_n;
        /* mnet returns the first max_detections of TFLite's rows. */
        if (want_n > p.max_detections) want_n = p.max_detections;

        const float *encs[4], *scores[4];
        size_t at = 0;
        for (int l = 0; l < s.layers; l++) {
            encs[l] = s.enc + 4 * at;
            scores[l] = s.scores + (size_t)s.columns * at;
            at += s.layer_anchors[l];
        }
        size_t bytes = mnet_ssd_detect_scratch_bytes((size_t)s.n, &p);
        int cap = p.max_detections;
        CHECK(bytes > 0 && cap <= MAX_OUT);
        void *scratch = malloc(bytes);
        mnet_raw_detection *out = malloc((size_t)cap * sizeof *out);
        int got = mnet_ssd_detect(s.layers, encs, scores, s.layer_anchors, s.anchors, &coder, &p,
                                  scratch, bytes, out);
        int same = got == want_n;
        for (int i = 0; same && i < got; i++) {
            same = out[i].anchor == want[i].anchor && out[i].class_index == want[i].cls &&
                   out[i].score == want[i].score &&
                   memcmp(out[i].box, s.boxes + 4 * want[i].anchor, sizeof out[i].box) == 0;
            if (i > 0 && out[i].score == out[i - 1].score) with_ties++;
        }
        if (!same) {
            mismatched_scenes++;
            fprintf(stderr, "trial %d (%s, %d anchors, %d classes, act %d): got %d want %d\n",
                    trial, p.regular ? "regular" : "fast", s.n, p.num_classes, (int)p.activation,
                    got, want_n);
        }
        nonempty += got > 0;
        if (!p.regular) {
            /* max_detections * k gives all of TFLite's rows for max_detections
             * boxes (greedy NMS keeps a prefix). */
            mnet_nms_params q = p;
            int k = p.max_classes_per_detection < p.num_classes ? p.max_classes_per_detection
                                                                : p.num_classes;
            q.max_detections = p.max_detections * k;
            size_t q_bytes = mnet_ssd_detect_scratch_bytes((size_t)s.n, &q);
            void *q_scratch = malloc(q_bytes);
            mnet_raw_detection *rows = malloc((size_t)q.max_detections * sizeof *rows);
            int n_rows = mnet_ssd_detect(s.layers, encs, scores, s.layer_anchors, s.anchors, &coder,
                                         &q, q_scratch, q_bytes, rows);
            int rows_same = n_rows == tflite_rows;
            for (int i = 0; rows_same && i < n_rows; i++)
                rows_same = rows[i].anchor == want[i].anchor && rows[i].class_index == want[i].cls;
            CHECK_MSG(rows_same, "trial %d: %d rows, TFLite %d", trial, n_rows, tflite_rows);
            free(q_scratch);
            free(rows);
        }
        /* One byte less scratch is refused. */
        CHECK(mnet_ssd_detect(s.layers, encs, scores, s.layer_anchors, s.anchors, &coder, &p,
                              scratch, bytes - 1, out) == -1);
        free(scratch);
        free(out);
    }
    CHECK_MSG(mismatched_scenes == 0, "%d of 600 scenes differ from the reference",
              mismatched_scenes);
    /* The scenes must exercise something: detections and tied scores. */
    CHECK_MSG(nonempty > 400, "only %d scenes had detections", nonempty);
    CHECK_MSG(with_ties > 50, "only %d tied neighbours", with_ties);
    TEST_MAIN_END();
}
