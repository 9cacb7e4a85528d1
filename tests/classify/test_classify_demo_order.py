"""On the demo twin, the demo classifier keeps the paper's order of settings: BF < BF+Hoechst < BF+Fluorescence."""

from classify_helpers import ROOT

from ctcbench.classify.evaluate import evaluate_run
from ctcbench.classify.train import TrainConfig, train
from ctcbench.config import load
from ctcbench.data.crops import build_crop_cache
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.splits import records_from_cache, write_trainset
from ctcbench.data.synth import TwinConfig, generate_twin
from ctcbench.plan import ClassifierRun
from ctcbench.plan.specs import classifier_spec
from ctcbench.protocol import of_config


def test_demo_settings_keep_the_paper_order(tmp_path):
    config = load(ROOT / "config.yaml", {"preset": "demo"})
    classify, synth = config["classify"], config["dataset"]["synth"]
    layout = DatasetLayout(tmp_path / "dataset")
    twin = TwinConfig.preset(synth["preset"], seed=synth["seed"], image_size=synth["image_size"], write_crops=False)
    generate_twin(layout.root, twin, progress=False)
    for split in ("train", "val"):
        cache = build_crop_cache(layout, split, layout.read_split(split), of_config(config).image_read)
        cache.save(tmp_path / f"{split}.npz")
        if split == "train":
            write_trainset(tmp_path / "all.tsv", records_from_cache(cache.keys, cache.labels, cache.image_ids))
    backbone = classify["main_backbone"]
    results = {}
    for setting in config["settings"]:
        cfg = TrainConfig(
            spec=classifier_spec(config, ClassifierRun(backbone, setting, "all", config["seeds"][0])),
            train_cache=tmp_path / "train.npz",
            val_cache=tmp_path / "val.npz",
            trainset_file=tmp_path / "all.tsv",
            out_dir=tmp_path / setting,
            resume_every=10**6,
        )
        train(cfg, progress=False)
        results[setting] = evaluate_run(cfg.out_dir, cfg.val_cache)
    for metric in ("f1", "auroc"):
        values = [results[s][metric] for s in ("bf", "bf_hoechst", "bf_fluo")]
        assert values[0] < values[1] < values[2], (metric, values)
