"""Pascal VOC XML annotations, read tolerantly and written atomically.

The original parsers assumed `<name>` is the first child of `<object>` and the box children come in the order xmin,
ymin, xmax, ymax (docs/dataset.md#voc-annotations); here children are looked up by tag, in any order, and coordinates
may be floats.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DatasetError
from ..io import atomic_write_text

COORDS = ("xmin", "ymin", "xmax", "ymax")


@dataclass(frozen=True)
class Box:
    """One annotated object: class name and box corners as stored in the XML (floats allowed)."""

    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: bool = False

    def int_coords(self) -> tuple[int, int, int, int]:
        """Corners as the original code reads them: `int(float(text))`, i.e. truncation toward zero."""
        return (int(self.xmin), int(self.ymin), int(self.xmax), int(self.ymax))


@dataclass
class VocAnnotation:
    filename: str
    width: int | None = None
    height: int | None = None
    depth: int | None = None
    objects: list[Box] = field(default_factory=list)

    def boxes_of(self, *names: str) -> list[Box]:
        return [b for b in self.objects if b.name in names]


def _number(node: ET.Element, tag: str, path: Path, what: str) -> float:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DatasetError(f"{path}: {what} has no <{tag}>; every box needs xmin, ymin, xmax and ymax")
    try:
        value = float(child.text.strip())
    except ValueError:
        raise DatasetError(f"{path}: {what} <{tag}> is {child.text.strip()!r}, not a number") from None
    if not math.isfinite(value):
        raise DatasetError(f"{path}: {what} <{tag}> is {child.text.strip()!r}, not a finite number")
    return value


def _optional_int(node: ET.Element | None, tag: str) -> int | None:
    if node is None:
        return None
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        return None
    try:
        return int(float(child.text.strip()))
    except ValueError:
        return None


def parse_voc(text: str | bytes, path: Path | str = "<string>") -> VocAnnotation:
    path = Path(path)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise DatasetError(f"{path}: not well-formed XML ({exc}); re-export the annotation") from None
    if root.tag != "annotation":
        raise DatasetError(f"{path}: root element is <{root.tag}>, expected a VOC <annotation>")
    size = root.find("size")
    objects = []
    for index, obj in enumerate(root.iter("object")):
        name_node = obj.find("name")
        if name_node is None or not (name_node.text or "").strip():
            raise DatasetError(f"{path}: object {index} has no <name>")
        bndbox = obj.find("bndbox")
        what = f"object {index} ({name_node.text.strip()})"
        if bndbox is None:
            raise DatasetError(f"{path}: {what} has no <bndbox>")
        coords = [_number(bndbox, tag, path, what) for tag in COORDS]
        difficult = obj.find("difficult")
        objects.append(
            Box(
                name=name_node.text.strip(),
                xmin=coords[0],
                ymin=coords[1],
                xmax=coords[2],
                ymax=coords[3],
                difficult=difficult is not None and (difficult.text or "0").strip() not in ("", "0"),
            )
        )
    filename = root.findtext("filename", default="").strip()
    return VocAnnotation(
        filename=filename,
        width=_optional_int(size, "width"),
        height=_optional_int(size, "height"),
        depth=_optional_int(size, "depth"),
        objects=objects,
    )


def read_voc(path: Path | str) -> VocAnnotation:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation XML missing")
    return parse_voc(path.read_bytes(), path)


def _format_coord(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def to_xml(annotation: VocAnnotation) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "CTC"
    ET.SubElement(root, "filename").text = annotation.filename
    if annotation.width is not None and annotation.height is not None:
        size = ET.SubElement(root, "size")
        ET.SubElement(size, "width").text = str(annotation.width)
        ET.SubElement(size, "height").text = str(annotation.height)
        ET.SubElement(size, "depth").text = str(annotation.depth if annotation.depth is not None else 1)
    for box in annotation.objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box.name
        ET.SubElement(obj, "difficult").text = "1" if box.difficult else "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag in COORDS:
            ET.SubElement(bndbox, tag).text = _format_coord(getattr(box, tag))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def write_voc(path: Path | str, annotation: VocAnnotation) -> None:
    atomic_write_text(Path(path), to_xml(annotation))
