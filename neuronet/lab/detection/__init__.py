"""``neuronet lab detection``: find the object, not only name it.

Fashion-MNIST items are scaled and placed at random on a 64 x 64 canvas
(``neuronet.datasets.localization``), with their tight boxes:

- ``single``: one item per canvas; a functional model with two heads, the class
  (softmax) and the box (four sigmoid corners as fractions of the canvas), trained on
  cross-entropy + box_weight * smooth-L1 (``single``);
- ``multi``: 2-4 items per canvas; a YOLO-v1-like grid detector (objectness, box and
  class per cell), non-maximum suppression, mAP@0.5 (``multi``).
"""
from neuronet import datasets
from neuronet.lab import common
from neuronet.lab.detection import multi, single
from neuronet.lab.detection.canvases import CANVAS, canvas_sets

DEFAULTS = {"epochs": 10, "validation_split": 0.1}
PARTS = ("single", "multi")


def run(settings, parts=PARTS):
    """Train and score the chosen parts; returns the results written to results.json."""
    lab = common.Experiment("detection", "Lab: object localisation and detection", settings)
    class_names = tuple(datasets.CLASS_NAMES[settings.dataset])
    results, sections = {}, []
    for part in parts:
        module = single if part == "single" else multi
        sets = canvas_sets(settings, f"lab detection ({part})", module.ITEMS, module.SIZES,
                           module.MAX_OVERLAP)
        results[part], section = module.run(lab, sets, class_names)
        sections.append(section)
    results["conclusions"] = [sentence for part in parts
                              for sentence in results[part]["conclusions"]]
    _setup(lab, settings, parts)
    for section in sections:
        section(lab.report)
    return lab.finish(results)


def _setup(lab, settings, parts):
    report = lab.report
    report.heading("Setup")
    rows = [("data set", f"{settings.dataset} items on a {CANVAS} x {CANVAS} canvas"),
            ("training images used", settings.limit or "all"),
            ("epochs", settings.epochs), ("batch size", settings.batch_size),
            ("seeds", f"{settings.seeds} ({', '.join(map(str, settings.seed_list))})"),
            ("optimizer", "Adam (learning rate 0.001)")]
    for part in parts:
        module = single if part == "single" else multi
        rows += [(f"{part}: items per canvas", "-".join(map(str, sorted(set(module.ITEMS))))),
                 (f"{part}: item side (pixels)", f"{module.SIZES[0]}-{module.SIZES[1]}"),
                 (f"{part}: model", module.DESCRIPTION)]
    report.table(["setting", "value"], rows)
    report.paragraph("Each training or test image of the data set becomes one canvas: scaled "
                     "to a random side, put at a random place (several items may overlap by "
                     "at most the stated IoU), the box tight around its pixels >= 32. The "
                     "canvases are the same for every seed; each seed draws other initial "
                     "weights and shuffling. Numbers are mean ± standard deviation over the "
                     "seeds (the value alone with one seed).")
