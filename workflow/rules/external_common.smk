# Paths and input functions of the external methods (included by external.smk).
EXTERNAL_METHODS = config["external_methods"]
EXTERNAL_RUN = f"{RESULTS}/external/{{name}}/{{setting}}/seed{{seed}}"


def external_path(entry):
    return EXTERNAL_RUN.format(
        name=entry["name"], setting=entry["setting"], seed=entry["seed"]
    )


def external_metrics(kind=None):
    """metrics.json of every configured external method, or of those of one kind (detections | cell_scores)."""
    return [
        f"{external_path(entry)}/metrics.json"
        for entry in EXTERNAL_METHODS
        if kind is None or entry["kind"] == kind
    ]


def external_entry(wildcards):
    (entry,) = [
        e
        for e in EXTERNAL_METHODS
        if (e["name"], e["setting"], str(e["seed"]))
        == (wildcards.name, wildcards.setting, wildcards.seed)
    ]
    return entry


def score_inputs(wildcards):
    """The method's files, and what its kind is scored against: the test (and val) images, or the val crops."""
    entry = external_entry(wildcards)
    if entry["kind"] == "cell_scores":
        return {"file": entry["file"], "val_cache": crop_cache("val")}
    inputs = {
        "file": entry["file"],
        "dataset": DATASET,
        "test_list": image_list("test"),
    }
    if entry.get("val_file"):
        inputs.update(val_file=entry["val_file"], val_list=image_list("val"))
    return inputs


def score_options(wildcards, input):
    if "val_cache" in input.keys():
        return f"--cell-scores {input.file} --val-cache {input.val_cache}"
    options = f"--predictions {input.file} --dataset {input.dataset} --image-list {input.test_list}"
    if "val_file" in input.keys():
        options += f" --val-predictions {input.val_file} --val-list {input.val_list}"
    return options
