#!/bin/sh
# Regenerates the models bundled in models/ from the pretrained files in
# ../shared/models (see models/README.md). Run from anywhere:
#   tools/convert/build_bundled_models.sh [SHARED_MODELS_DIR [OUTPUT_DIR]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${1:-$root/../shared/models}
out=${2:-$root/models}
convert="/usr/bin/python3 $here/mnet_convert.py"
# Fixed date in the provenance so that a rebuild is byte-identical.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1795824000}

$convert tflite "$shared/mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite" \
    --head "$shared/mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite" \
    --labels "$shared/mobilenet_v1/imagenet_labels_1001.txt" \
    --name "MobileNet V1 1.0 224 (ImageNet, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 (TF-slim mobilenet_v1_1.0_224_quant, split in extractor + head)" \
    -o "$out/mobilenet_v1_1.0_224.safetensors"

$convert tflite "$shared/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite" \
    --labels "$shared/mobilenet_v2/imagenet_labels_1001.txt" \
    --name "MobileNet V2 1.0 224 (ImageNet, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 (TF-slim mobilenet_v2_1.0_224_quant)" \
    -o "$out/mobilenet_v2_1.0_224.safetensors"

$convert tfjs "$shared/mobilenet_v1/tfjs_keras_mobilenet_v1_0.75_224" \
    --labels "$shared/mobilenet_v1/imagenet_labels_1001.txt" \
    --name "MobileNet V1 0.75 224 (ImageNet, Keras float32 via TF.js, BN folded)" \
    --license Apache-2.0 \
    --origin "tangmingsh/ml5featureExtractormodel@238fbc538b0dd3d3993a1ebaf5f68fa679c99fa7 mobilenet_v1_0.75_224/ (Google TF.js conversion of Keras MobileNet alpha 0.75)" \
    -o "$out/mobilenet_v1_0.75_224.safetensors"
