"""Detection predictions for people and files: for `dlrun predict`, a row per box (class, score,
x1 y1 x2 y2 in the input image's pixels), a COCO results file (image_id, category_id with the
data's own ids, bbox [x, y, w, h], score) and each image with its boxes drawn
(torchvision.utils.draw_bounding_boxes); for the trackers, a few validation images with their
true boxes and the predicted ones side by side."""

import json
from pathlib import Path

import torch

TRUE_COLOUR, PREDICTED_COLOUR = "lime", "red"


def load_images(paths: list[str], run) -> tuple[list[str], list[torch.Tensor], list[tuple[float, float]]]:
    """(names, images as the run's evaluation transforms make them, (sx, sy) back to each file's pixels)."""
    from dlrun.errors import DlrunError
    from dlrun.runs.inference import IMAGE_SUFFIXES, open_image

    pipeline = eval_pipeline(run)
    names, images, scales = [], [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DlrunError(f"{raw}: no such file.")
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DlrunError(f"{raw}: a detection run predicts on image files ({', '.join(IMAGE_SUFFIXES)}).")
        tensor, scale = detection_input(open_image(path, raw, "RGB"), pipeline)
        names.append(path.name)
        images.append(tensor)
        scales.append(scale)
    return names, images, scales


def eval_pipeline(run):
    """The run's evaluation transforms for images alone (no boxes)."""
    from omegaconf import OmegaConf

    from dlrun.datasets.detection.samples import transforms
    from dlrun.runs.inference import run_transforms

    settings = OmegaConf.create(OmegaConf.to_container(run_transforms(run)))  # dataset=shards: the shards' own
    return transforms(settings, train=False, boxes=False)


def detection_input(image, pipeline) -> tuple[torch.Tensor, tuple[float, float]]:
    """(an RGB PIL image as the detector takes it, (sx, sy) from its pixels back to the file's)."""
    tensor = pipeline(image)
    return tensor, (image.size[0] / tensor.shape[-1], image.size[1] / tensor.shape[-2])


def in_file_pixels(found: dict, scale: tuple[float, float], threshold: float) -> dict:
    """One image's detections above `threshold`, boxes scaled back to the file's pixels."""
    keep = found["scores"] >= threshold
    boxes = found["boxes"][keep].float().cpu() * torch.tensor([scale[0], scale[1], scale[0], scale[1]])
    return {"boxes": boxes, "labels": found["labels"][keep].cpu(), "scores": found["scores"][keep].float().cpu()}


def box_rows(names: list[str], kept: list[dict], info) -> list[dict]:
    """A row per box (an image without boxes: one row saying so)."""
    classes = list(info.class_names or [])
    rows = []
    for name, found in zip(names, kept):
        if not len(found["boxes"]):
            rows.append({"input": name, "class": "(none)", "score": "", "x1": "", "y1": "", "x2": "", "y2": ""})
        for box, label, score in zip(found["boxes"].tolist(), found["labels"].tolist(), found["scores"].tolist()):
            rows.append(
                {
                    "input": name,
                    "class": classes[label] if label < len(classes) else str(label),
                    "score": score,
                    **{k: round(v, 2) for k, v in zip(("x1", "y1", "x2", "y2"), box)},
                }
            )
    return rows


def coco_results(names: list[str], kept: list[dict], info) -> list[dict]:
    """COCO's results format: one entry per box, image_id numbering the inputs (file_name says which)."""
    ids = list(info.label_ids or range(info.num_outputs))
    results = []
    for number, (name, found) in enumerate(zip(names, kept), 1):
        for (x1, y1, x2, y2), label, score in zip(
            found["boxes"].tolist(), found["labels"].tolist(), found["scores"].tolist()
        ):
            results.append(
                {
                    "image_id": number,
                    "file_name": name,
                    "category_id": int(ids[label]),
                    "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                    "score": round(score, 5),
                }
            )
    return results


def write_results(path: Path, results: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[\n" + ",\n".join(json.dumps(result) for result in results) + "\n]\n")  # a box per line


def drawn(image: torch.Tensor, found: dict, info, colour: str, scores: bool = True) -> torch.Tensor:
    """A uint8 (3, H, W) image with `found`'s boxes and their class (and score) written on them."""
    classes = list(info.class_names or [])
    labels = [
        (classes[i] if i < len(classes) else str(i)) + (f" {s:.2f}" if scores else "")
        for i, s in zip(found["labels"].tolist(), found.get("scores", found["labels"].float()).tolist())
    ]
    if image.is_floating_point():
        image = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    if not len(found["boxes"]):
        return image
    from torchvision.utils import draw_bounding_boxes  # torchvision.ops: ~1 s of imports, for detection runs only

    return draw_bounding_boxes(image, found["boxes"].float(), labels=labels, colors=colour, width=2)


def write_drawn(paths: list[str], kept: list[dict], info, folder: Path) -> list[str]:
    """Each input image (at its own size) with its predicted boxes, as <name>_boxes.png in `folder`."""
    from PIL import Image
    from torchvision.transforms.v2.functional import pil_to_tensor

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for raw, found in zip(paths, kept):
        with Image.open(raw) as opened:
            image = pil_to_tensor(opened.convert("RGB"))
        target = folder / f"{Path(raw).stem}_boxes.png"
        Image.fromarray(drawn(image, found, info, PREDICTED_COLOUR).permute(1, 2, 0).numpy()).save(target)
        written.append(str(target))
    return written


def prediction_boxes(model, loader, info, device, count: int = 4, threshold: float = 0.5) -> list:
    """For the trackers: up to `count` images of `loader`, each as one picture (uint8 HWC): its
    true boxes (left) and the predicted ones above `threshold` (right)."""
    inputs, targets = next(iter(loader))
    images = list(inputs.images)[:count]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        found = model([image.to(device) for image in images])
    model.train(was_training)
    pictures = []
    for image, truth, guess in zip(images, targets, found):
        guess = in_file_pixels(guess, (1.0, 1.0), threshold)
        left = drawn(image.cpu(), truth, info, TRUE_COLOUR, scores=False)
        right = drawn(image.cpu(), guess, info, PREDICTED_COLOUR)
        pictures.append(torch.cat([left, right], dim=2).permute(1, 2, 0).numpy())
    return pictures
