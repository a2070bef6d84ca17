/* Faster R-CNN box decoding. The arithmetic is done in double and rounded
 * once, as TFLite's DetectionPostProcess does, so decoded boxes match its
 * float path to the last bit on the same inputs. */
#include <math.h>

#include "post/detection.h"

void mnet_decode_box(const float *encoding, const mnet_anchor_box *anchor,
                     const mnet_box_coder *coder, float *box) {
    double ty = encoding[coder->xy_order ? 1 : 0];
    double tx = encoding[coder->xy_order ? 0 : 1];
    double th = encoding[coder->xy_order ? 3 : 2];
    double tw = encoding[coder->xy_order ? 2 : 3];
    double log_h = th / coder->h_scale, log_w = tw / coder->w_scale;
    if (coder->size_log_clip > 0) {
        /* torchvision clamps before exp so a wild regression cannot
         * overflow; a NaN stays NaN, as with torch.clamp. */
        if (log_h > coder->size_log_clip) log_h = coder->size_log_clip;
        if (log_w > coder->size_log_clip) log_w = coder->size_log_clip;
    }
    float yc = (float)(ty / coder->y_scale * anchor->h + anchor->yc);
    float xc = (float)(tx / coder->x_scale * anchor->w + anchor->xc);
    float half_h = (float)(0.5 * exp(log_h) * anchor->h);
    float half_w = (float)(0.5 * exp(log_w) * anchor->w);
    box[0] = yc - half_h;
    box[1] = xc - half_w;
    box[2] = yc + half_h;
    box[3] = xc + half_w;
}
