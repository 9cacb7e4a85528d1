"""The reference check itself: what it calls equal, what it reports, and the README numbers it generates."""

import shutil
from pathlib import Path

import pytest

from ctcbench.errors import ConfigError
from ctcbench.reference.compare import compare_trees, format_differences, load_tolerances
from ctcbench.reference.configs import CONFIGURATIONS, by_name
from ctcbench.reference.readme import README, current_block, render_demo_numbers

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def tree(root: Path, table4: str, md: str = "| a |\n") -> Path:
    write(root / "tables" / "table4_image_level.csv", table4)
    write(root / "tables" / "table4_image_level.md", md)
    write(root / "figures" / "umap_coordinates.csv", "setting,x,y\nbf,0.5,1.25\n")
    return root


TABLE4 = "detector,setting,stage,metric,mean\nfcos,bf,detection,ap50,12.500000\nfcos,bf,detection,f1,20.000000\n"


def test_identical_trees_have_no_difference(tmp_path):
    files, differences = compare_trees(tree(tmp_path / "a", TABLE4), tree(tmp_path / "b", TABLE4), {})
    assert differences == []
    assert files == ["figures/umap_coordinates.csv", "tables/table4_image_level.csv", "tables/table4_image_level.md"]


def test_a_changed_number_is_named_by_table_row_and_column(tmp_path):
    moved = TABLE4.replace("20.000000", "20.000001")
    _, differences = compare_trees(tree(tmp_path / "ref", TABLE4), tree(tmp_path / "new", moved), {})
    assert len(differences) == 1
    line = str(differences[0])
    assert line == (
        "tables/table4_image_level.csv row 2 (detector=fcos, setting=bf, stage=detection, metric=f1) column mean: "
        "reference '20.000000', new '20.000001'"
    )


def test_markdown_differences_are_reported_by_line(tmp_path):
    _, differences = compare_trees(
        tree(tmp_path / "ref", TABLE4, "| a |\n| b |\n"), tree(tmp_path / "new", TABLE4, "| a |\n| c |\n| d |\n"), {}
    )
    assert [(d.where, d.reference, d.new) for d in differences] == [
        ("line 2", "| b |", "| c |"),
        ("line 3", "(no such line)", "| d |"),
    ]


def test_missing_and_extra_files_and_rows_are_differences(tmp_path):
    ref, new = tree(tmp_path / "ref", TABLE4), tree(tmp_path / "new", TABLE4.rsplit("fcos", 1)[0])
    write(new / "figures" / "fig11_fractions.csv", "a\n1\n")
    (new / "tables" / "table4_image_level.md").unlink()
    _, differences = compare_trees(ref, new, {})
    described = {(d.file, d.where, d.new) for d in differences}
    assert ("figures/fig11_fractions.csv", "file", "regenerated") in described
    assert ("tables/table4_image_level.md", "file", "not regenerated") in described
    assert any(d.where.startswith("row 2") and d.new == "(no such row)" for d in differences)


def test_tolerances_are_per_file_and_column_and_need_a_reason(tmp_path):
    path = write(
        tmp_path / "tolerances.yaml",
        "figures/umap_coordinates.csv:\n  x: {abs: 1.0e-3, why: multithreaded layout}\n",
    )
    tolerances = load_tolerances(path)
    ref = tree(tmp_path / "ref", TABLE4)
    new = tree(tmp_path / "new", TABLE4)
    write(new / "figures" / "umap_coordinates.csv", "setting,x,y\nbf,0.5004,1.25\n")
    assert compare_trees(ref, new, tolerances)[1] == []
    write(new / "figures" / "umap_coordinates.csv", "setting,x,y\nbf,0.502,1.2501\n")
    differences = compare_trees(ref, new, tolerances)[1]
    assert [(d.column, d.new) for d in differences] == [("x", "0.502"), ("y", "1.2501")]
    write(tmp_path / "bad.yaml", "figures/umap_coordinates.csv:\n  x: {abs: 1.0e-3}\n")
    with pytest.raises(ConfigError, match="why"):
        load_tolerances(tmp_path / "bad.yaml")


def test_long_diffs_are_capped_per_file(tmp_path):
    rows = "".join(f"fcos,bf,detection,m{i},{i}\n" for i in range(30))
    moved = "".join(f"fcos,bf,detection,m{i},{i + 1}\n" for i in range(30))
    header = "detector,setting,stage,metric,mean\n"
    _, differences = compare_trees(tree(tmp_path / "r", header + rows), tree(tmp_path / "n", header + moved), {})
    lines = format_differences("demo-faithful", differences)
    assert len(lines) == 21 and lines[-1] == "demo-faithful: tables/table4_image_level.csv: 10 more differences"


@pytest.mark.parametrize("configuration", [c.name for c in CONFIGURATIONS])
def test_a_number_changed_in_the_committed_reference_fails_the_check(tmp_path, configuration):
    """The committed reference against itself is equal; one moved number in Table 4 is named exactly."""
    reference = REFERENCE / configuration
    assert compare_trees(reference, reference, load_tolerances(REFERENCE / "tolerances.yaml"))[1] == []
    copy = tmp_path / configuration
    shutil.copytree(reference, copy)
    table = copy / "tables" / "table4_image_level.csv"
    lines = table.read_text().splitlines()
    cells = lines[1].split(",")
    column = lines[0].split(",").index("mean")
    cells[column] = "99.999999"
    lines[1] = ",".join(cells)
    table.write_text("\n".join(lines) + "\n")
    differences = compare_trees(copy, reference, load_tolerances(REFERENCE / "tolerances.yaml"))[1]
    assert len(differences) == 1
    assert differences[0].file == "tables/table4_image_level.csv"
    assert differences[0].where.startswith("row 1 (") and differences[0].column == "mean"
    assert differences[0].reference == "99.999999"


def test_every_configuration_has_a_committed_reference():
    for configuration in CONFIGURATIONS:
        folder = REFERENCE / configuration.name
        assert (folder / "tables" / "table4_image_level.csv").is_file(), folder
        assert (folder / "figures" / "fig11_fractions.csv").is_file(), folder


def test_unknown_configuration_names_are_refused():
    with pytest.raises(ConfigError, match="demo-faithful"):
        by_name(["demo-fast"])


def test_readme_demo_numbers_are_the_committed_reference():
    block = current_block(README.read_text())
    assert block is not None, "README.md lost its demo-numbers markers"
    assert block == render_demo_numbers(REFERENCE), "README demo numbers are stale: run `make update-reference`"


CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 1
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw amx_tile

processor\t: 1
vendor_id\t: GenuineIntel
"""


def test_the_cpu_signature_names_model_and_instruction_sets():
    from ctcbench.reference.machine import cpu_signature

    assert cpu_signature(CPUINFO) == "GenuineIntel-6-167-1-avx2+fma+avx512f+amx_tile"
    assert cpu_signature(CPUINFO.replace(" avx512f avx512bw amx_tile", "")) == "GenuineIntel-6-167-1-avx2+fma"


def test_a_machines_own_reference_is_used_when_committed(tmp_path):
    from ctcbench.reference.machine import machine_reference, reference_for

    (tmp_path / "demo-faithful").mkdir()
    assert reference_for(tmp_path, "demo-faithful", "cpu-a") == tmp_path / "demo-faithful"
    own = machine_reference(tmp_path, "demo-faithful", "cpu-a")
    own.mkdir(parents=True)
    assert reference_for(tmp_path, "demo-faithful", "cpu-a") == own == tmp_path / "machines/cpu-a/demo-faithful"
    assert reference_for(tmp_path, "demo-faithful", "cpu-b") == tmp_path / "demo-faithful"


def test_every_machine_copy_is_a_complete_reference():
    for folder in sorted((REFERENCE / "machines").glob("*/*")):
        first = REFERENCE / folder.name
        assert sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file()) == sorted(
            p.relative_to(first) for p in first.rglob("*") if p.is_file()
        ), folder


def test_an_update_files_runs_under_the_cpu_that_made_them(tmp_path):
    """`reference-update --from DIR --this-machine` uses the CPU the check recorded in DIR, not this one; a first
    reference recorded on another CPU is not overwritten without --force."""
    import argparse

    from ctcbench.errors import CtcbenchError
    from ctcbench.reference import update_cli
    from ctcbench.reference.machine import record_cpu

    work, reference = tmp_path / "work", tmp_path / "reference"
    results = work / "demo-faithful" / "results" / "demo"
    write(results / "report.md", "done\n")
    write(results / "tables" / "table1.csv", "a\n1\n")
    record_cpu(work, "cpu-that-ran")
    args = argparse.Namespace(
        configurations=["demo-faithful"], reference=reference, cores=1, source=work, this_machine=True, force=False
    )
    update_cli.run(args)
    assert (reference / "machines" / "cpu-that-ran" / "demo-faithful" / "tables" / "table1.csv").is_file()
    record_cpu(reference, "another-cpu")
    with pytest.raises(
        CtcbenchError, match="first reference was made on CPU another-cpu and these runs on cpu-that-ran"
    ):
        update_cli.run(argparse.Namespace(**{**vars(args), "this_machine": False}))
