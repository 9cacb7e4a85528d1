"""Applying a trained pipeline to new images (docs/apply.md): `ctcbench export` packs one pairing of the grid at one ω
into a bundle folder, `ctcbench predict` runs a bundle on new TIFFs.

`bundle` is the folder's format (manifest, checksums, version checks), `export` builds one from a pairing's results,
`model_card` writes its human-readable model.yaml; `images` finds the new images and their fluorescence partners,
`tiling` cuts images larger than the training size, `predictor` runs the evaluation's pipeline on one image and
`outputs` writes what it found.
"""
