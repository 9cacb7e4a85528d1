"""The brightfield-only track of a related CTC study (docs/experiments.md#bf-only): a classifier of cancer (R)
against not-cancer (G) trained on brightfield crops with the Hoechst crops of the same cells as extra training
images, validated and tested on brightfield alone; its augmentation counted in levels, its macro metrics and its
statistics. Torch-free except `train`."""
