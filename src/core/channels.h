/* Channel-count rules of the MobileNet families (docs/MODEL_FORMAT.md), shared
 * by the config validation and the model builders so both agree exactly. */
#ifndef MNET_CORE_CHANNELS_H
#define MNET_CORE_CHANNELS_H

/* The Keras/TF-slim/torchvision rule for V2 widths: v rounded to the nearest
 * multiple of divisor, never below divisor and never more than 10 % below v.
 * Evaluated in double, as the Python reference does. */
int mnet_make_divisible(float v, int divisor);

/* TF-slim MobileNet V1 width of a layer with base width `base`:
 * max(8, (int)(base * dm)). */
int mnet_mobilenet_v1_channels(float dm, int base);

#endif
