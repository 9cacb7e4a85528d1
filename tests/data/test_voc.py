"""VOC XML: round trip, tolerance of child order and float coordinates, clear errors."""

import pytest

from ctcbench.data.voc import Box, VocAnnotation, parse_voc, read_voc, write_voc
from ctcbench.errors import DatasetError


def test_round_trip(tmp_path):
    annotation = VocAnnotation(
        filename="r06c04f01p01.tiff",
        width=1080,
        height=1080,
        depth=3,
        objects=[Box("R", 10, 20, 30, 40), Box("G", 1.5, 2.25, 9.75, 12.0, difficult=True), Box("U", 0, 0, 5, 5)],
    )
    write_voc(tmp_path / "a.xml", annotation)
    again = read_voc(tmp_path / "a.xml")
    assert again == annotation
    assert again.boxes_of("R", "U") == [annotation.objects[0], annotation.objects[2]]


def test_child_order_and_float_coordinates_are_tolerated():
    text = """<annotation><object><bndbox><ymax>40.9</ymax><xmin>10.7</xmin><ymin>20.2</ymin><xmax>30.5</xmax>
    </bndbox><pose>x</pose><name> R </name></object><size><height>100</height><width>200</width></size>
    <filename>r06c04f01p01.tiff</filename></annotation>"""
    annotation = parse_voc(text)
    box = annotation.objects[0]
    assert (annotation.width, annotation.height) == (200, 100)
    assert box.name == "R" and (box.xmin, box.ymin, box.xmax, box.ymax) == (10.7, 20.2, 30.5, 40.9)
    assert box.int_coords() == (10, 20, 30, 40)  # int(float(text)): truncation, as the original


@pytest.mark.parametrize(
    "text, message",
    [
        ("<annotation><object>", "not well-formed XML"),
        ("<notvoc/>", "expected a VOC <annotation>"),
        ("<annotation><object><bndbox/></object></annotation>", "object 0 has no <name>"),
        ("<annotation><object><name>R</name></object></annotation>", "has no <bndbox>"),
        (
            "<annotation><object><name>R</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax></bndbox></object></annotation>",
            "has no <ymax>",
        ),
        (
            "<annotation><object><name>R</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>",
            "<xmin> is 'a', not a number",
        ),
    ],
)
def test_malformed_xml_errors_name_the_file(text, message):
    with pytest.raises(DatasetError, match=message) as info:
        parse_voc(text, "some/dir/r06c04f01p01.xml")
    assert str(info.value).startswith("some/dir/r06c04f01p01.xml: ")
